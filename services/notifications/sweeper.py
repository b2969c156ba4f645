"""The sweeper: every few seconds, queue deliveries whose retry is due or whose worker died."""
import logging
import time

from services.notifications import deliveries, runtime, tasks
from shared.db import utcnow

log = logging.getLogger(__name__)


def sweep_once(enqueue=tasks.enqueue):
    with runtime.db().transaction() as session:
        due = deliveries.sweep(session, utcnow(), runtime.settings().stale_after)
    if due:
        enqueue(due)
        log.info("requeued %d delivery(ies)", len(due))
    return due


def run(stop=lambda: False):
    while not stop():
        try:
            sweep_once()
        except Exception as error:  # the DB or broker is away: try again next round
            log.warning("sweep failed: %s: %s", type(error).__name__, error)
        time.sleep(runtime.settings().sweep_every)
