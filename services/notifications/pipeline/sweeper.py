"""The sweeper: every few seconds, queue deliveries whose retry is due or whose worker died;
every hour, apply the retention periods (retention.py)."""
import logging
import time

from services.notifications.pipeline import deliveries, retention, tasks
from shared.bus import Bus
from shared.db import utcnow

log = logging.getLogger(__name__)


def sweep_once(notifications, enqueue=tasks.enqueue):
    with notifications.db.transaction() as session:
        due = deliveries.sweep(session, utcnow(), notifications.settings.stale_after)
    if due:
        enqueue(due)
        log.info("requeued %d delivery(ies)", len(due))
    return due


def retain_once(notifications, bus):
    gone = retention.apply(notifications.db, bus, notifications.settings, utcnow())
    if any(gone.values()):
        log.info("retention: %s", ", ".join(f"{count} {what}" for what, count in gone.items()))


def run(notifications, stop=lambda: False):
    """Sweep forever; `notifications`: the process's collaborators (wiring.build)."""
    bus, retained_at = Bus.from_url(notifications.settings.redis_url), None
    while not stop():
        try:
            sweep_once(notifications)
            if retained_at is None or time.monotonic() - retained_at >= retention.EVERY:
                retain_once(notifications, bus)
                retained_at = time.monotonic()
        except Exception as error:  # the DB or broker is away: try again next round
            log.warning("sweep failed: %s: %s", type(error).__name__, error)
        time.sleep(notifications.settings.sweep_every)
