"""The notification service's app factory: deliveries and subscriptions APIs, pages, health."""
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from services.notifications.mail import mime
from services.notifications.mail.links import Links
from services.notifications.models import ApiToken
from services.notifications.pipeline import mailcap, subscriptions
from services.notifications.web import (arco_api, deliveries_api, follow_page, link_pages,
                                        subscriptions_api, webhooks_api)
from shared import config
from shared.commitments_client import CommitmentsClient
from shared.web import Service, create_service_app


@dataclass(kw_only=True)
class Notifications(Service):
    links: Links
    commitments: CommitmentsClient  # reads the commitments service's API
    enqueue: Callable  # enqueue(ids) hands deliveries to the workers
    mail_domain: str

    @property
    def lease(self):
        """How long a queued row waits before the sweeper sends it (if no task did)."""
        return timedelta(seconds=self.settings.stale_after)

    def follow(self, email, topic, language):
        """Ask to follow a topic, for the API and the follow form alike (raises the
        commitments client's UnknownCommitment or CommitmentsUnavailable, having saved nothing)."""
        subscriptions.follow(
            self.db, email, topic, language, commitments=self.commitments, links=self.links,
            enqueue=self.enqueue, now=self.clock(),
            lease=timedelta(seconds=self.settings.stale_after), mail_domain=self.mail_domain,
            cap=mailcap.parse(self.settings.mail_cap))


def create_app(settings=None, *, commitments=None, enqueue=None, **collaborators):
    """Build the app; tests pass settings and collaborators instead of patching.

    `commitments` reads the commitments service (default: its API at COMMITMENTS_API_URL);
    `enqueue(ids)` hands deliveries to the workers (default: the Celery task).
    """
    settings = settings or config.load_or_exit("notifications")
    service = Notifications(
        settings=settings, token_model=ApiToken, **collaborators,
        links=Links(settings.public_base_url, settings.keys),
        commitments=commitments or CommitmentsClient(settings.peers["commitments"].api_url),
        enqueue=enqueue or _celery_enqueue(settings),
        mail_domain=mime.domain_of(settings.mail_from))
    app = create_service_app(service, "Abierto — Notifications",
                             [deliveries_api.blp, subscriptions_api.blp, arco_api.blp,
                              webhooks_api.blp])
    app.register_blueprint(link_pages.bp)
    app.register_blueprint(follow_page.bp)  # the commitment page's follow form
    site = {"home": settings.peers["commitments"].public_url,  # the pages' header and footer
            "privacy": f"{settings.peers['registration'].public_url}/privacy"}
    app.context_processor(lambda: {"site": site})
    return app


def _celery_enqueue(settings):
    # Imports Celery only when used.
    from services.notifications import celery_app
    from services.notifications.pipeline.tasks import enqueue

    celery_app.configure(settings)
    return enqueue
