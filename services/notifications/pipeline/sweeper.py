"""The sweeper: every few seconds, queue deliveries whose retry is due or whose worker died;
every hour, apply the retention periods (retention.py)."""
import logging
import time

from kombu.exceptions import KombuError

from services.notifications.pipeline import deliveries, retention, tasks, unrecorded
from shared import outages
from shared.db import utcnow

log = logging.getLogger(__name__)


def sweep_once(notifications, enqueue=tasks.enqueue, after_outage=False):
    """Write down the emails sent while the database was away, then queue what is due or
    stuck: the first step comes first, so none of those is called stuck and sent again.
    `after_outage`: every queued row, rather than wait for their lease to end."""
    bus = notifications.bus
    sent = unrecorded.waiting(bus.redis)
    with notifications.db.transaction() as session:
        unrecorded.record(session, sent, utcnow())
        due = deliveries.sweep(session, utcnow(), notifications.settings.stale_after,
                               every_queued=after_outage)
    unrecorded.forget(bus.redis, list(sent))
    if sent:
        log.info("recorded %d email(s) sent while the database was away", len(sent))
    if due:
        enqueue(due)
        log.info("requeued %d delivery(ies)", len(due))
    return due


def retain_once(notifications):
    gone = retention.apply(notifications.db, notifications.bus, notifications.settings, utcnow())
    if any(gone.values()):
        log.info("retention: %s", ", ".join(f"{count} {what}" for what, count in gone.items()))


def run(notifications, stop=lambda: False):
    """Sweep forever; `notifications`: the process's collaborators (wiring.build). While the
    database or the broker is away it waits with a capped backoff, saying so once."""
    retained_at = None
    outage = outages.Outage("the database or the bus", log)
    while not stop():
        try:
            sweep_once(notifications, after_outage=outage.ongoing)
            if retained_at is None or time.monotonic() - retained_at >= retention.EVERY:
                retain_once(notifications)
                retained_at = time.monotonic()
            outage.recovered()
        except Exception as error:
            if outages.away(error) or isinstance(error, KombuError):
                outage.wait(error)
                continue
            log.warning("sweep failed: %s: %s", type(error).__name__, error)
        time.sleep(notifications.settings.sweep_every)
