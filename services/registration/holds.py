"""The expirer (`abierto holds`): every SWEEP_EVERY seconds, expire the held seats nobody
confirmed within PENDING_HOLD and give them to the people waiting, in order; every hour,
anonymise the registrations of events long ended (retention.py)."""
import logging
import time

from services.registration import retention, service as use_cases
from services.registration.facts import Links
from shared import config, outages
from shared.db import Database, utcnow

log = logging.getLogger(__name__)


def run(stop=lambda: False, settings=None, db=None):
    settings = settings or config.load("registration")
    db = db or Database(settings.database_url)
    links = Links(settings.public_base_url, settings.keys)
    anonymised_at, outage = None, outages.Outage("the database", log)
    while not stop():
        try:
            expired = use_cases.expire_holds(db, links, utcnow())
            if expired:
                log.info("expired %d unconfirmed hold(s)", expired)
            if anonymised_at is None or time.monotonic() - anonymised_at >= retention.EVERY:
                anonymised = retention.anonymise_ended(db, utcnow(), settings.retention_days)
                anonymised_at = time.monotonic()
                if anonymised:
                    log.info("anonymised %d registration(s) of events long ended", anonymised)
        except Exception as error:
            if outages.away(error):  # said once; waited out with backoff
                outage.wait(error)
                continue
            log.warning("expiring holds failed: %s: %s", type(error).__name__, error)
        else:
            outage.recovered()
        time.sleep(settings.sweep_every)
