"""The sweeper: every few seconds, queue deliveries whose retry is due or whose worker died."""
import logging
import time

from services.notifications.pipeline import deliveries, tasks
from shared.db import utcnow

log = logging.getLogger(__name__)


def sweep_once(notifications, enqueue=tasks.enqueue):
    with notifications.db.transaction() as session:
        due = deliveries.sweep(session, utcnow(), notifications.settings.stale_after)
    if due:
        enqueue(due)
        log.info("requeued %d delivery(ies)", len(due))
    return due


def run(notifications, stop=lambda: False):
    """Sweep forever; `notifications`: the process's collaborators (wiring.build)."""
    while not stop():
        try:
            sweep_once(notifications)
        except Exception as error:  # the DB or broker is away: try again next round
            log.warning("sweep failed: %s: %s", type(error).__name__, error)
        time.sleep(notifications.settings.sweep_every)
