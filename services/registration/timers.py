"""The registration timers (`abierto timers`): every SWEEP_EVERY seconds, expire the held
seats nobody confirmed within PENDING_HOLD and give them to the people waiting, tell
attendees of the event changes that have waited CHANGE_COALESCE, and send the REMINDERS
due; every hour, anonymise the registrations of events long ended (retention.py).

Each step is safe to run in several processes at once (each decides under the event's lock)
and goes on when another fails: a broken step must not stop the reminders."""
import logging
import time
from datetime import timedelta

from services.registration import announcements, retention, service as use_cases
from services.registration.facts import Links
from shared import config, outages
from shared.db import Database, utcnow

log = logging.getLogger(__name__)


def steps(settings):
    """(name, what it did, step(db, links, now) -> how many) for one round, in order."""
    coalesce = timedelta(seconds=settings.change_coalesce)
    return (
        ("holds", "expired %d unconfirmed hold(s)", use_cases.expire_holds),
        ("changes", "told %d attendee(s) of an event change",
         lambda db, links, now: announcements.send_changes(db, links, now, coalesce)),
        ("reminders", "reminded %d attendee(s) of an event",
         lambda db, links, now: announcements.send_reminders(db, links, now, settings.reminders)),
    )


def run_once(db, links, settings, now):
    """One round of every step but the hourly one; a step that fails is logged and skipped."""
    for name, done, step in steps(settings):
        try:
            count = step(db, links, now)
            if count:
                log.info(done, count)
        except Exception as error:
            if outages.away(error):  # every step would fail alike: run() waits it out
                raise
            log.warning("%s failed: %s: %s", name, type(error).__name__, error)


def run(stop=lambda: False, settings=None, db=None):
    settings = settings or config.load("registration")
    db = db or Database(settings.database_url)
    links = Links(settings.public_base_url, settings.keys)
    anonymised_at, outage = None, outages.Outage("the database", log)
    while not stop():
        try:
            run_once(db, links, settings, utcnow())
            if anonymised_at is None or time.monotonic() - anonymised_at >= retention.EVERY:
                anonymised = retention.anonymise_ended(db, utcnow(), settings.retention_days)
                anonymised_at = time.monotonic()
                if anonymised:
                    log.info("anonymised %d registration(s) of events long ended", anonymised)
        except Exception as error:
            if outages.away(error):  # said once; waited out with backoff
                outage.wait(error)
                continue
            log.warning("anonymising failed: %s: %s", type(error).__name__, error)
        else:
            outage.recovered()
        time.sleep(settings.sweep_every)
