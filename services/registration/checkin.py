"""Use cases at the door: check in the person a code names, admit a walk-in, and the staff
links that open an event's check-in page; one transaction each.

No fact goes to the outbox: nobody is emailed about walking through a door, and a walk-in
gave their details to staff, not to a form that promised an email.
"""
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from services.registration import checkin_codes, domain
from services.registration import checkin_rules as rules
from services.registration.models import Event, FeedTombstone, Registration, StaffLink
from shared import changes, signing
from shared.domain_errors import NotFound
from shared.schemas import MAX_INT, normalize_email

STAFF_PURPOSE = "staff-link"
# A staff link is made for one event, often weeks ahead; revoking it is what ends it.
STAFF_LINK_MAX_AGE = int(timedelta(days=400).total_seconds())


@dataclass(frozen=True)
class Admitted:
    """The answer at the door: `result` (checked_in or already_checked_in), who, and when
    they first went in."""

    result: str
    registration: Registration
    checked_in_at: datetime


def check_in(db, keys, event_id, text, now):
    """Check in the registration a scanned or typed code names, at `event_id`: Admitted, or a
    rules.CheckInRefused (invalid, another event's, no seat). Two scanners at once check a
    person in once: the second hears when the first did. A called-off event refuses any code
    (rules.DoorShut)."""
    with db.transaction() as session:
        rules.check_door_open(_event(session, event_id))
        presented = _presented(text)
        registration = session.get(Registration, presented.registration_id)
        if registration is None:
            raise rules.invalid_code()
        try:  # with the registration's own event: a foreign code is told apart only once genuine
            checkin_codes.verify(keys, presented, registration.event_id)
        except checkin_codes.InvalidCode:
            raise rules.invalid_code() from None
        if rules.admit(registration, event_id) == rules.CHECKED_IN:
            if _mark_checked_in(session, registration.id, now):
                return Admitted(rules.CHECKED_IN, registration, now)
            session.refresh(registration)  # another scanner was first, or it was cancelled
            rules.admit(registration, event_id)
        return Admitted(rules.ALREADY_CHECKED_IN, registration, registration.checked_in_at)


def _presented(text):
    try:
        presented = checkin_codes.read(text)
    except checkin_codes.InvalidCode:
        raise rules.invalid_code() from None
    if presented.registration_id > MAX_INT:
        raise rules.invalid_code()
    return presented


def _mark_checked_in(session, registration_id, now):
    """Whether this call checked the registration in: one UPDATE that only the first of
    several at once can make (the others wait for its row lock, then match nothing)."""
    return session.execute(
        update(Registration).where(Registration.id == registration_id,
                                   Registration.status == domain.CONFIRMED,
                                   Registration.checked_in_at.is_(None))
        .values(checked_in_at=now), execution_options={"synchronize_session": False},
    ).rowcount == 1


def walk_in(db, event_id, person, now):
    """Admit someone at the door: a confirmed registration, checked in now, that takes no
    registered seat and is emailed nothing. `person`: name, sector, organization, language,
    and maybe email; an address that already holds a registration here lets that one in
    (rules.let_in). Staff confirmed that the person accepted the privacy notice."""
    email = (person.get("email") or "").strip()
    key = normalize_email(email) if email else rules.walk_in_key(uuid.uuid4().hex)
    details = {name: person[name] for name in ("name", "sector", "organization", "language")}
    with db.transaction() as session:
        # Locked as registering does (one email, one registration); never while called off.
        rules.check_door_open(_event(session, event_id, lock=True))
        existing = session.scalar(select(Registration).where(
            Registration.event_id == event_id, Registration.email_key == key).with_for_update())
        if existing is not None:
            result = rules.let_in(existing, now)
            if result == rules.CHECKED_IN and existing.walk_in:  # what they told staff now
                for name, value in {**details, "email": email, "privacy_consent_at": now}.items():
                    setattr(existing, name, value)
            return Admitted(result, existing, existing.checked_in_at)
        registration = Registration(
            event_id=event_id, email=email, email_key=key, **details, status=domain.CONFIRMED,
            walk_in=True, checked_in_at=now, privacy_consent_at=now, queued_at=now,
            invite_sequence=0)
        session.add(registration)
        session.flush()
    return Admitted(rules.CHECKED_IN, registration, now)


def _event(session, event_id, lock=False):
    query = select(Event).where(Event.id == event_id)
    event = session.scalar(query.with_for_update() if lock else query)
    if event is None:
        raise NotFound(f"There is no event {event_id}.")
    return event


# --- staff links: what door staff open instead of holding a token ---

def create_staff_link(db, event_id, label, now, token_id, scopes):
    """A new staff link for the event, by whoever may change it (domain.check_may_change)."""
    with db.transaction() as session:
        domain.check_may_change(_event(session, event_id), token_id, scopes)
        link = StaffLink(event_id=event_id, label=label, created_by_token_id=token_id,
                         created_at=now)
        session.add(link)
        session.flush()
    return link


def staff_links(db, event_id, token_id, scopes):
    """The event's staff links, revoked ones too, oldest first."""
    with db.transaction() as session:
        domain.check_may_change(_event(session, event_id), token_id, scopes)
        return session.scalars(select(StaffLink).where(StaffLink.event_id == event_id)
                               .order_by(StaffLink.id)).all()


def staff_links_changed(db, event_id, token_id, scopes, cursor, limit):
    """(the event's staff links changed after `cursor`, revoked ones too, the next cursor)."""
    with db.transaction() as session:
        domain.check_may_change(_event(session, event_id), token_id, scopes)
        return changes.changed(session, StaffLink, FeedTombstone, cursor, limit,
                               where=[StaffLink.event_id == event_id], scope=event_id)


def revoke_staff_link(db, event_id, link_id, now, token_id, scopes):
    """Revoke a link: the next check-in through it is refused. Revoking twice is no error."""
    with db.transaction() as session:
        domain.check_may_change(_event(session, event_id), token_id, scopes)
        link = session.get(StaffLink, link_id)
        if link is None or link.event_id != event_id:
            raise NotFound(f"Event {event_id} has no staff link {link_id}.")
        link.revoked_at = link.revoked_at or now


def staff_link_url(base_url, keys, link):
    """The link to hand to door staff; it carries only the row's id, signed."""
    credential = signing.sign(keys, STAFF_PURPOSE, link.id)
    return f"{base_url}/events/{link.event_id}/check-in?staff={credential}"


def staff_link_in_use(db, keys, credential, event_id):
    """The staff link `credential` (the link's `staff` value) names, read anew from the
    database; rules.StaffLinkRefused when it may not check anyone in at `event_id`, and
    signing.LinkInvalid (not expired) when the credential is no staff link at all."""
    try:
        link_id = signing.unsign(keys, STAFF_PURPOSE, credential, STAFF_LINK_MAX_AGE)
    except signing.LinkInvalid as error:
        if error.expired:
            raise rules.StaffLinkRefused(rules.LINK_EXPIRED) from error
        raise
    with db.transaction() as session:
        link = session.get(StaffLink, link_id)
        rules.check_staff_link(link, event_id)
        return link
