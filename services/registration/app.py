"""The registration service's app factory."""
from dataclasses import dataclass, field

from services.registration import (api, arco_api, checkin_api, checkin_pages, feeds_pages,
                                   lifecycle_api, my_data_pages, pages)
from services.registration.facts import Links
from services.registration.models import ApiToken
from services.registration.notifications_client import NotificationsClient
from shared import calendar, config, i18n
from shared.commitments_client import CommitmentsClient, RememberingCommitments
from shared.ratelimit import PublicRateLimit
from shared.web import Service, create_service_app


@dataclass(kw_only=True)
class Registration(Service):
    links: Links  # what signs the cancel and confirm links in emails
    event_limit: PublicRateLimit  # registrations per client address and event, API and form
    commitments_url: str  # where people open an event's related commitments
    commitments: RememberingCommitments  # their titles and statuses, for the event page
    notifications: NotificationsClient  # what the "Mis datos" pages ask of notifications
    uid_domain: str  # calendar UIDs are made under it (shared.calendar.uid_domain)
    # the public feeds' ETags by the rows they were rendered from: a 304 renders nothing
    feed_tags: feeds_pages.FeedTags = field(default_factory=feeds_pages.FeedTags)


def create_app(settings=None, *, notifications=None, commitments=None, **collaborators):
    """Build the app; tests pass settings and collaborators (db, bus, clock) instead of patching.

    `notifications` reads and changes what the notification service holds about a person
    (default: its ARCO API at NOTIFICATIONS_API_URL, with NOTIFICATIONS_API_TOKEN).
    `commitments` reads a commitment (default: the commitments API at COMMITMENTS_API_URL,
    its answers kept five minutes in this process).
    """
    settings = settings or config.load_or_exit("registration")
    peer = settings.peers["notifications"]
    service = Registration(
        settings=settings, token_model=ApiToken, **collaborators,
        links=Links(settings.public_base_url, settings.keys),
        # The key names both the client address and the event.
        event_limit=PublicRateLimit(settings.redis_url, settings.event_client_limit,
                                    "registration-per-event"),
        commitments_url=settings.peers["commitments"].public_url,
        commitments=commitments or RememberingCommitments(
            CommitmentsClient(settings.peers["commitments"].api_url)),
        notifications=notifications or NotificationsClient(peer.api_url, peer.api_token),
        uid_domain=calendar.uid_domain(settings.public_base_url, settings.mail_from))
    app = create_service_app(service, "Abierto — Registration",
                             [api.blp, lifecycle_api.blp, arco_api.blp, checkin_api.blp])
    i18n.install(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(my_data_pages.bp)
    app.register_blueprint(checkin_pages.bp)
    app.register_blueprint(feeds_pages.bp)
    return app
