"""ARCO rights over registration's data: show a person what is held under their email, or erase it.

Erasing frees a confirmed seat exactly as a cancellation does (the first person waiting is
promoted and told), but records no fact about the erased person, drops their facts not yet
relayed and deletes those already on the bus, so nothing about them is left to be emailed.
"""
import json

from sqlalchemy import delete, select

from services.registration import domain, service
from services.registration.models import Event, Outbox, Registration
from shared.bus import mentioning, stream_name
from shared.schemas import normalize_email


def _iso(value):
    return value.isoformat() if value is not None else None


def export(db, email):
    """Every registration under this email, across all events, as plain dicts."""
    email_key = normalize_email(email)
    with db.transaction() as session:
        rows = session.execute(
            select(Registration, Event.title, Event.title_en)
            .join(Event, Event.id == Registration.event_id)
            .where(Registration.email_key == email_key)
            .order_by(Registration.created_at, Registration.id)).all()
    return [{
        "id": registration.id, "event_id": registration.event_id, "event_title": title,
        "event_title_en": title_en,  # None: the event has only its Spanish title
        "name": registration.name, "email": registration.email,
        "organization": registration.organization, "sector": registration.sector,
        "language": registration.language, "status": registration.status,
        "created_at": _iso(registration.created_at),
        "cancelled_at": _iso(registration.cancelled_at),
        "privacy_consent_at": _iso(registration.privacy_consent_at),
        "accessibility_needs": registration.accessibility_needs,
        "accessibility_consent_at": _iso(registration.accessibility_consent_at),
    } for registration, title, title_en in rows]


def erase(db, bus, email, links, now):
    """Delete every registration under this email (one transaction each), then the facts
    about them still on the bus; return how many registrations went."""
    email_key = normalize_email(email)
    with db.transaction() as session:
        found = session.execute(select(Registration.id, Registration.event_id).where(
            Registration.email_key == email_key).order_by(Registration.id)).all()
    erased = sum(_erase_one(db, registration_id, event_id, email_key, links, now)
                 for registration_id, event_id in found)
    # After the rows: a fact the relay published meanwhile is on the stream by now.
    bus.forget(stream_name("registration"), mentioning(email))
    return erased


def _erase_one(db, registration_id, event_id, email_key, links, now):
    with db.transaction() as session:
        event = service._event_for_update(session, event_id)  # lock first, as cancelling does
        registration = session.get(Registration, registration_id)
        if registration is None or registration.email_key != email_key:
            return 0  # erased (or cancelled and re-used) meanwhile
        _drop_unpublished_facts(session, event_id, registration_id)
        if registration.status in domain.HOLDING_A_SEAT:  # confirmed, or a pending hold
            domain.cancel(event, registration, now)  # frees the seat; its fact is not recorded
            if now < event.ends_at:
                for promoted in domain.promote(event, service._waitlist(session, event.id)):
                    service._record(session, "registration.promoted", promoted, event, links, now)
        session.delete(registration)
    return 1


def _drop_unpublished_facts(session, event_id, registration_id):
    """Delete outbox rows about this registration that the relay has not published yet."""
    subject = f"events/{event_id}/registrations/{registration_id}"
    candidates = session.execute(select(Outbox.id, Outbox.payload).where(
        Outbox.payload.contains(f'"{subject}"', autoescape=True))).all()
    ids = [row_id for row_id, payload in candidates
           if json.loads(payload).get("subject") == subject]
    if ids:
        session.execute(delete(Outbox).where(Outbox.id.in_(ids)))
