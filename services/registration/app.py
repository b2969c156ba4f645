"""The registration service's app factory."""
from dataclasses import dataclass

from services.registration import api, pages
from services.registration.facts import Links
from services.registration.models import ApiToken
from shared import config, i18n
from shared.ratelimit import PublicRateLimit
from shared.web import Service, create_service_app


@dataclass(kw_only=True)
class Registration(Service):
    links: Links  # what signs the cancel and confirm links in emails
    event_limit: PublicRateLimit  # registrations per client address and event, API and form
    commitments_url: str  # where an event's related commitments are shown


def create_app(settings=None, **collaborators):
    """Build the app; tests pass settings and collaborators (db, bus, clock) instead of patching."""
    settings = settings or config.load_or_exit("registration")
    service = Registration(
        settings=settings, token_model=ApiToken, **collaborators,
        links=Links(settings.public_base_url, settings.keys),
        # The key names both the client address and the event.
        event_limit=PublicRateLimit(settings.redis_url, settings.event_client_limit,
                                    "registration-per-event"),
        commitments_url=settings.peers["commitments"].public_url)
    app = create_service_app(service, "Abierto — Registration", [api.blp])
    i18n.install(app)
    app.register_blueprint(pages.bp)
    return app
