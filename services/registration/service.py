"""Use cases: one transaction each, loading what the rules need and saving facts in the outbox."""
from sqlalchemy import func, or_, select

from services.registration import domain
from services.registration.facts import registration_fact
from services.registration.models import Event, Outbox, Registration
from shared import outbox
from shared.db import page_of
from shared.errors import DomainError


class NotFound(DomainError):
    status = 404


def _event_for_update(session, event_id):
    # FOR UPDATE serialises capacity decisions per event on PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already does (shared.db).
    event = session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None:
        raise NotFound(f"There is no event {event_id}.")
    return event


def _record(session, fact_type, registration, event, links, now):
    outbox.add(session, Outbox, registration_fact(fact_type, registration, event, links, now))


def create_event(db, fields, now):
    with db.transaction() as session:
        event = Event(**fields)
        event.confirmed_count = 0
        domain.check_schedule(event)
        session.add(event)
    return event


def update_event(db, event_id, changes, links, now):
    """Apply changes; a larger capacity gives the new seats to the people waiting."""
    with db.transaction() as session:
        event = _event_for_update(session, event_id)
        for name, value in changes.items():
            setattr(event, name, value)
        domain.check_schedule(event)
        for registration in domain.promote(event, _waitlist(session, event.id)):
            _record(session, "registration.promoted", registration, event, links, now)
    return event


def get_event(db, event_id):
    with db.transaction() as session:
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound(f"There is no event {event_id}.")
        return event


def list_events(db, now, page, per_page, when=None, q=None, country=None, city=None):
    query = select(Event)
    if when == "upcoming":
        query = query.where(Event.ends_at > now).order_by(Event.starts_at, Event.id)
    elif when == "past":
        query = query.where(Event.ends_at <= now).order_by(Event.starts_at.desc(), Event.id)
    else:
        query = query.order_by(Event.starts_at.desc(), Event.id)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
            Event.title, Event.description, Event.venue, Event.city))))
    if country:
        query = query.where(Event.country == country.upper())
    if city:
        query = query.where(func.lower(Event.city) == city.lower())
    with db.transaction() as session:
        return page_of(session, query, page, per_page)


def register(db, event_id, fields, links, now):
    """Register once per email and event; return (registration, created)."""
    with db.transaction() as session:
        event = _event_for_update(session, event_id)
        email_key = domain.normalize_email(fields["email"])
        registration = session.scalar(select(Registration).where(
            Registration.event_id == event_id, Registration.email_key == email_key))
        if registration is not None and registration.status != domain.CANCELLED:
            return registration, False
        if registration is None:
            registration = Registration(event_id=event_id, email_key=email_key)
        for name in ("name", "email", "organization", "sector", "language"):
            setattr(registration, name, fields[name])
        registration.accessibility_needs = (fields.get("accessibility_needs") or "").strip() or None
        registration.privacy_consent_at, registration.queued_at = now, now
        registration.cancelled_at = None
        fact_type = domain.register(event, registration, now)
        session.add(registration)
        session.flush()  # the id goes into the fact
        _record(session, fact_type, registration, event, links, now)
    return registration, True


def list_registrations(db, event_id, page, per_page):
    with db.transaction() as session:
        if session.get(Event, event_id) is None:
            raise NotFound(f"There is no event {event_id}.")
        query = select(Registration).where(Registration.event_id == event_id)
        return page_of(session, query.order_by(Registration.id), page, per_page)  # None: all (CSV)


def cancellation_view(db, registration_id):
    """The registration and its event, for the page a cancellation link opens."""
    with db.transaction() as session:
        registration = session.get(Registration, registration_id)
        if registration is None:
            raise NotFound("This registration no longer exists.")
        return registration, session.get(Event, registration.event_id)


def cancel(db, registration_id, links, now):
    """Cancel and hand the freed seat to the first person waiting."""
    with db.transaction() as session:
        registration = session.get(Registration, registration_id)
        if registration is None:
            raise NotFound("This registration no longer exists.")
        event = _event_for_update(session, registration.event_id)
        if now >= event.ends_at:
            raise domain.RegistrationClosed("This event is over; there is nothing to cancel.")
        fact_type = domain.cancel(event, registration, now)
        if fact_type:
            _record(session, fact_type, registration, event, links, now)
            for promoted in domain.promote(event, _waitlist(session, event.id)):
                _record(session, "registration.promoted", promoted, event, links, now)
    return registration, event


def _waitlist(session, event_id):
    return session.scalars(select(Registration).where(
        Registration.event_id == event_id, Registration.status == domain.WAITLISTED,
    ).order_by(Registration.queued_at, Registration.id)).all()
