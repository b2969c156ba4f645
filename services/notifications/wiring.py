"""The collaborators of a notification process (consumer, worker, sweeper), made from the
settings once when the process starts and handed down from there."""
from dataclasses import dataclass
from datetime import timedelta

from services.notifications import celery_app
from services.notifications.mail import mime
from services.notifications.mail.links import Links
from services.notifications.mail.mailer import SMTPMailer
from services.notifications.pipeline import mailcap
from services.notifications.webhooks import transport
from shared import calendar
from shared.bus import Bus
from shared.commitments_client import CommitmentsClient
from shared.db import Database


@dataclass(frozen=True)
class Notifications:
    settings: object  # shared.config.Settings
    db: Database
    mailer: SMTPMailer
    links: Links
    commitments: CommitmentsClient
    bus: Bus = None  # Redis: where a worker notes an email sent while the database was away
    webhooks: object = None  # sends webhook calls (webhooks/transport.py's adapter)

    @property
    def mail_domain(self):
        """Message-IDs and List-Ids are made under it."""
        return mime.domain_of(self.settings.mail_from)

    @property
    def my_data_url(self):
        """The "Mis datos" page every email's footer links to, on the registration site."""
        return f"{self.settings.peers['registration'].public_url}/my-data"

    @property
    def uid_domain(self):
        """Invites' UIDs are made under it: the same as the attendee page's .ics."""
        return calendar.uid_domain(self.settings.peers["registration"].public_url,
                                   self.settings.mail_from)

    @property
    def cap(self):
        """MAIL_CAP's windows."""
        return mailcap.parse(self.settings.mail_cap)

    @property
    def lease(self):
        """How long a queued or claimed row waits before the sweeper sends it again."""
        return timedelta(seconds=self.settings.stale_after)


def build(settings):
    """Everything a notification process talks to, the task queue included; nothing
    connects until first used."""
    celery_app.configure(settings)
    return Notifications(
        settings=settings,
        db=Database(settings.database_url),
        mailer=SMTPMailer(settings),
        links=Links(settings.public_base_url, settings.keys),
        commitments=CommitmentsClient(settings.peers["commitments"].api_url),
        bus=Bus.from_url(settings.redis_url),
        webhooks=transport.adapter(settings.webhook_allow_private),
    )
