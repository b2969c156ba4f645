"""RETENTION_DAYS after an event ends, its registrations keep no person: name, address,
organisation and accessibility needs go; event, status, sector, language and dates stay, so
the counts (how many came, from which sector) still add up.

The `holds` process runs it every `EVERY` seconds; `anonymise_ended` takes the moment, so a
test sets the clock.
"""
from datetime import timedelta

from sqlalchemy import String, select, update

from services.registration.models import Event, Registration

EVERY = 3600.0  # the period is months long: an hour late is soon enough


def anonymise_ended(db, now, retention_days):
    """Anonymise the registrations of events that ended `retention_days` before `now`;
    return how many."""
    ended = select(Event.id).where(Event.ends_at < now - timedelta(days=retention_days))
    with db.transaction() as session:
        return session.execute(
            update(Registration)
            .where(Registration.event_id.in_(ended), Registration.anonymised_at.is_(None))
            # the key stays unique per event without naming anyone
            .values(name="", email="", email_key="anonymised:" + Registration.id.cast(String),
                    organization="", accessibility_needs=None, accessibility_consent_at=None,
                    anonymised_at=now),
            execution_options={"synchronize_session": False}).rowcount
