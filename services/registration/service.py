"""Use cases: one transaction each, loading what the rules need and saving facts in the outbox."""
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.exc import ObjectDeletedError

from services.registration import domain, lifecycle, registering_at_once
from services.registration.facts import registration_fact
from services.registration.models import Event, EventReminder, FeedTombstone, Outbox, Registration
from shared import changes, outbox
from shared.db import page_of, utcnow
from shared.domain_errors import NotFound
from shared.prepared import Prepared
from shared.schemas import normalize_email


def _event_for_update(session, event_id):
    # FOR UPDATE serialises capacity decisions per event on PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already does (shared.db).
    event = session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None:
        raise NotFound(f"There is no event {event_id}.")
    return event


def _record(connection, fact_type, registration, event, links, now):
    """Queue the fact in the caller's transaction (an ORM session or a Core connection)."""
    outbox.add(connection, Outbox, registration_fact(fact_type, registration, event, links, now))


def create_event(db, fields, now, token_id=None):
    """Publish an event; `token_id` (the API token publishing it) becomes its owner."""
    with db.transaction() as session:
        event = Event(**fields)
        event.confirmed_count, event.created_by_token_id = 0, token_id
        domain.check_schedule(event)
        session.add(event)
    return event


def update_event(db, event_id, changes, links, now, token_id, scopes, notify=True):
    """Apply changes, if the token may change this event (domain.check_may_change); a larger
    capacity gives the new seats to the people waiting. A change of time or place is told
    to attendees CHANGE_COALESCE later (announcements.send_changes); `notify` false: not
    this one (a typo fixed)."""
    with db.transaction() as session:
        event = _event_for_update(session, event_id)
        domain.check_may_change(event, token_id, scopes)
        before, capacity_before = lifecycle.notified_state(event), event.capacity
        for name, value in changes.items():
            setattr(event, name, value)
        if event.capacity is None:
            event.confirmed_count = 0  # not counted without a capacity (domain.take_seats)
        elif capacity_before is None:  # counted from now on: the seats held under the lock
            event.confirmed_count = session.scalar(_SEATS_HELD, {"event_id": event.id})
        domain.check_schedule(event)
        if lifecycle.after_edit(event, before, notify, now):
            follow_the_start(session, event, now)
        for registration in domain.promote(event, _waitlist(session, event.id)):
            _record(session, "registration.promoted", registration, event, links, now)
    return event


# A walk-in holds no registered seat (checkin_rules).
_SEATS_HELD = select(func.count()).select_from(Registration).where(
    Registration.event_id == bindparam("event_id"),
    Registration.status.in_(domain.HOLDING_A_SEAT), Registration.walk_in.is_(False))


def follow_the_start(session, event, now):
    """Forget the reminders sent whose time, under the event's start as it is now, is still
    to come: they go again then (a move a week later reminds again the day before)."""
    to_come = (event.starts_at - now).total_seconds()
    session.execute(delete(EventReminder).where(EventReminder.event_id == event.id,
                                                EventReminder.offset_seconds < to_come))


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
            Event.title, Event.title_en, Event.description, Event.description_en, Event.venue,
            Event.city))))
    if country:
        query = query.where(Event.country == country.upper())
    if city:
        query = query.where(func.lower(Event.city) == city.lower())
    with db.transaction() as session:
        return page_of(session, query, page, per_page)


# Registering is the public hot path (a rush of citizens on one event), so it runs as
# statements built once, on a Core connection (`db.writing()`): the ORM's Session, identity
# map and unit of work cost several times the CPU and add nothing to a lock, one insert and
# a counter.
_EVENTS, _REGISTRATIONS, _OUTBOX = Event.__table__, Registration.__table__, Outbox.__table__
# On PostgreSQL the lock also reserves the id a new registration will take (its sequence),
# so that its fact, which carries the id and a cancel link signed with it, is made before
# the insert and written with it, and reads the version registering_at_once compares.
# SQLite gives the id at the insert, as before.
_LOCK = select(*(column for column in _EVENTS.c if column.name in registering_at_once.READS)) \
    .where(_EVENTS.c.id == bindparam("event_id")).with_for_update()
_LOCK_EVENT = {"sqlite": _LOCK, "postgresql": _LOCK.add_columns(func.nextval(
    func.pg_get_serial_sequence(_REGISTRATIONS.name, "id")).label("new_registration_id"),
    registering_at_once.VERSION)}
_FIND_REGISTRATION = select(_REGISTRATIONS).where(
    _REGISTRATIONS.c.event_id == bindparam("event_id"),
    _REGISTRATIONS.c.email_key == bindparam("email_key"))
# Insert first, look up only when the email is there already: a new registration (nearly
# all of them) costs one statement, and on PostgreSQL one round trip, less than asking first.
_QUEUED_AT = bindparam("queued_at", type_=_REGISTRATIONS.c.queued_at.type)
_COUNT_WAITING_AHEAD = select(func.count()).select_from(_REGISTRATIONS).where(
    _REGISTRATIONS.c.event_id == bindparam("event_id"),
    _REGISTRATIONS.c.status == domain.WAITLISTED,
    or_(_REGISTRATIONS.c.queued_at < _QUEUED_AT,
        and_(_REGISTRATIONS.c.queued_at == _QUEUED_AT,
             _REGISTRATIONS.c.id < bindparam("registration_id"))))
_ADD_NEW_REGISTRATION = {
    name: insert(_REGISTRATIONS).on_conflict_do_nothing(index_elements=["event_id", "email_key"])
    .returning(_REGISTRATIONS.c.id, _REGISTRATIONS.c.created_at)
    for name, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))}
# On PostgreSQL the insert, the seat it takes and its fact go in one statement, two round
# trips fewer (SQLite has no data-modifying WITH). The count and the fact are written only
# if the row was inserted (and the count only if it changed). Inside a WITH, SQLAlchemy
# fills no column defaults and no `onupdate`: every column is bound by hand, as
# `new_<column>` (bound by the column's own name, the UPDATE would also SET the events'
# columns of that name).
_ADDED = _ADD_NEW_REGISTRATION["postgresql"].values({
    each.name: bindparam(f"new_{each.name}", type_=each.type)
    for each in _REGISTRATIONS.c if each.name != "change_seq"}).cte("added")
_SEATED = update(_EVENTS).where(
    _EVENTS.c.id == bindparam("event_id"),
    _EVENTS.c.confirmed_count != bindparam("confirmed_count"),
    exists(select(_ADDED.c.id))).values(
    confirmed_count=bindparam("confirmed_count"),
    updated_at=bindparam("written_at", type_=_EVENTS.c.updated_at.type)).cte("seated")
_WRITE_NEW_REGISTRATION = (select(_ADDED.c.id, _ADDED.c.created_at)
                           .add_cte(_SEATED).add_cte(registering_at_once.queued_if(_ADDED)))
# SET takes the columns given at execution; updated_at follows its `onupdate` as with the ORM.
_RENEW_REGISTRATION = update(_REGISTRATIONS).where(
    _REGISTRATIONS.c.id == bindparam("registration_id"))
_SET_CONFIRMED_COUNT = update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id"))
# A new registration's statements on SQLite, where SQLAlchemy's per-statement execution
# cost more CPU than SQLite's work (shared.prepared); the same statements as above.
_SQLITE_LOCK = Prepared(_LOCK_EVENT["sqlite"])
_SQLITE_ADD = Prepared(_ADD_NEW_REGISTRATION["sqlite"])
_SQLITE_SET_CONFIRMED_COUNT = Prepared(_SET_CONFIRMED_COUNT)
_SQLITE_QUEUE = Prepared(insert(_OUTBOX))
_PERSON = ("name", "email", "organization", "sector", "language")


def _lock_event(connection, event_id):
    if connection.dialect.name == "sqlite":
        row = _SQLITE_LOCK.first(connection, {"event_id": event_id})
        return None if row is None else SimpleNamespace(**row)
    return _loaded(connection.execute(_LOCK_EVENT["postgresql"],
                                      {"event_id": event_id}).one_or_none())


def _loaded(row):
    """A row as a plain object the domain rules can read and change."""
    return None if row is None else SimpleNamespace(**row._mapping)


def register(db, event_id, fields, links, now, pending_hold, tell_repeat=True):
    """Register once per email and event; return (registration, created).

    A repeat (the email holds a registration that still stands) changes nothing; with
    `tell_repeat` it records `registration.repeated`, so the person, and only they, hear by
    email what they hold. A closed event refuses everyone alike, registered or not.
    `pending_hold` (a timedelta) is how long a `confirm_by_email` seat is held.
    """
    email_key = normalize_email(fields["email"])
    changes = {name: fields[name] for name in _PERSON}
    needs = (fields.get("accessibility_needs") or "").strip() or None
    changes.update(accessibility_needs=needs, accessibility_consent_at=now if needs else None,
                   privacy_consent_at=now, queued_at=now, cancelled_at=None)
    if db.autocommits() is not None:  # PostgreSQL: a rush's registrations in one round trip
        registration = SimpleNamespace(id=None, event_id=event_id, email_key=email_key,
                                       invite_sequence=0, **changes)
        added = registering_at_once.register(
            db, registration, dict(changes), lambda fact_type, event: registration_fact(
                fact_type, registration, event, links, now), now, pending_hold)
        if added is not None:
            registration.id, registration.created_at = added
            return registration, True
    with db.writing() as connection:
        # FOR UPDATE serialises capacity decisions per event, as in _event_for_update.
        event = _lock_event(connection, event_id)
        if event is None:
            raise NotFound(f"There is no event {event_id}.")
        if hasattr(event, "version"):  # PostgreSQL: what the next ones compare
            registering_at_once.keep(db, vars(event))
        registration = SimpleNamespace(id=getattr(event, "new_registration_id", None),
                                       event_id=event_id, email_key=email_key,
                                       invite_sequence=0, **changes)
        confirmed_before = event.confirmed_count
        fact_type = domain.register(event, registration, now, pending_hold)
        changes.update(status=registration.status, held_until=registration.held_until)
        added = _add_new_registration(
            connection, registration, changes, event.confirmed_count, confirmed_before,
            lambda: _fact(connection, fact_type, registration, event, links, now))
        if added is not None:
            registration.id, registration.created_at = added
            return registration, True
        # Looked up after the lock: on PostgreSQL this statement sees what a same-email
        # request committed while we waited for it. The id reserved goes unused.
        existing = _find_registration(connection, event_id, email_key)
        if domain.is_repeat(existing):
            # Nothing of the registration is written; event.confirmed_count is dropped.
            if tell_repeat:
                _record(connection, "registration.repeated", existing, event, links, now)
            return existing, False
        registration = existing  # registering again after it ended: the back of the line
        # Its calendar entry (one UID per registration) was cancelled: the new invite
        # must be newer than that CANCEL, or calendars ignore it.
        changes.update(invite_sequence=existing.invite_sequence + 1)
        vars(registration).update(changes)
        connection.execute(_RENEW_REGISTRATION, {"registration_id": registration.id, **changes})
        _set_confirmed_count(connection, event_id, event.confirmed_count, confirmed_before)
        fact = _fact(connection, fact_type, registration, event, links, now)
        outbox.add(connection, Outbox, fact)
    return registration, True


def _fact(connection, fact_type, registration, event, links, now):
    if fact_type == "registration.waitlisted":  # only here: seated registrations pay nothing
        registration.waitlist_position = _waitlist_position(connection, registration)
    return registration_fact(fact_type, registration, event, links, now)


def _add_new_registration(connection, registration, changes, confirmed_count,
                          confirmed_before, make_fact):
    """Insert the registration, and the event's new seat count and its fact (`make_fact()`)
    with it; return its (id, created_at), or None (and nothing written) when the email is
    registered there already."""
    if connection.dialect.name == "postgresql":
        now = utcnow()
        return connection.execute(_WRITE_NEW_REGISTRATION, {
            **registering_at_once.new_row(registration, changes, now),
            **outbox.row(make_fact()), "event_id": registration.event_id,
            "confirmed_count": confirmed_count, "written_at": now}).one_or_none()
    values = {"event_id": registration.event_id, "email_key": registration.email_key, **changes}
    added = _SQLITE_ADD.first(connection, values)
    if added is None:
        return None
    registration.id = added["id"]
    if confirmed_count != confirmed_before:
        _SQLITE_SET_CONFIRMED_COUNT.first(connection, {
            "event_id": registration.event_id, "confirmed_count": confirmed_count})
    _SQLITE_QUEUE.first(connection, outbox.row(make_fact()))
    return added["id"], added["created_at"]


def _set_confirmed_count(connection, event_id, confirmed_count, confirmed_before):
    if confirmed_count != confirmed_before:
        connection.execute(_SET_CONFIRMED_COUNT, {
            "event_id": event_id, "confirmed_count": confirmed_count})


def _waitlist_position(connection, registration):
    """The place in the event's waiting list, from 1: those waiting ahead by (queued_at, id)."""
    ahead = connection.execute(_COUNT_WAITING_AHEAD, {
        "event_id": registration.event_id, "queued_at": registration.queued_at,
        "registration_id": registration.id}).scalar_one()
    return ahead + 1


def _find_registration(connection, event_id, email_key):
    return _loaded(connection.execute(
        _FIND_REGISTRATION, {"event_id": event_id, "email_key": email_key}).one_or_none())


def events_changed(db, cursor, limit):
    """(events changed after `cursor`, the next cursor); a cancelled event stays, as it
    stays listed, with its status."""
    with db.transaction() as session:
        return changes.changed(session, Event, FeedTombstone, cursor, limit)


def registrations_changed(db, event_id, cursor, limit):
    """(the event's registrations changed after `cursor`, the next cursor): a cancelled,
    anonymised or erased one comes as a tombstone, so a mirror lets the person go."""
    with db.transaction() as session:
        if session.get(Event, event_id) is None:
            raise NotFound(f"There is no event {event_id}.")
        return changes.changed(session, Registration, FeedTombstone, cursor, limit,
                               where=[Registration.event_id == event_id], scope=event_id,
                               shown=lambda r: r.status != "cancelled" and r.anonymised_at is None)


def list_registrations(db, event_id, page, per_page):
    with db.transaction() as session:
        if session.get(Event, event_id) is None:
            raise NotFound(f"There is no event {event_id}.")
        query = select(Registration).where(Registration.event_id == event_id)
        # In the order people registered: ids are not (registering_at_once takes them in blocks).
        return page_of(session, query.order_by(Registration.created_at, Registration.id),
                       page, per_page)  # None: all (CSV)


def registration_view(db, registration_id):
    """The registration and its event, for the page a cancel or confirm link opens."""
    with db.transaction() as session:
        registration = session.get(Registration, registration_id)
        if registration is None:
            raise NotFound("This registration no longer exists.")
        return registration, session.get(Event, registration.event_id)


def cancel(db, registration_id, links, now):
    """Cancel and hand the freed seat to the first person waiting."""
    with db.transaction() as session:
        registration, event = _registration_for_update(session, registration_id)
        if now >= event.ends_at:
            raise domain.RegistrationClosed("This event is over; there is nothing to cancel.")
        was = registration.status  # only a confirmed seat was sent an invite to withdraw
        fact_type = domain.cancel(event, registration, now)
        if fact_type:
            registration.invite_sequence += 1  # the CANCEL must be newer than every invite sent
            outbox.add(session, Outbox, registration_fact(
                fact_type, registration, event, links, now, cancelled_from=was))
            for promoted in domain.promote(event, _waitlist(session, event.id)):
                _record(session, "registration.promoted", promoted, event, links, now)
    return registration, event


def confirm(db, registration_id, links, now):
    """Confirm a held seat through its emailed link (`registration.confirmed`, with the invite)."""
    with db.transaction() as session:
        registration, event = _registration_for_update(session, registration_id)
        fact_type = domain.confirm(event, registration, now)
        if fact_type:
            _record(session, fact_type, registration, event, links, now)
    return registration, event


def expire_holds(db, links, now, events=100):
    """Expire the holds whose time is up and give their seats to the people waiting, in
    order; one transaction per event, under the event's lock like registering and
    cancelling, so expirers running at once neither expire twice nor promote twice.
    The holds of a cancelled event stay as they are: its people were told already.
    Return how many holds expired."""
    with db.transaction() as session:
        due = session.scalars(select(Registration.event_id).join(Event).where(
            Registration.status == domain.PENDING, Registration.held_until <= now,
            Event.status != lifecycle.CANCELLED,
        ).group_by(Registration.event_id).order_by(func.min(Registration.held_until))
            .limit(events)).all()
    return sum(_expire_event_holds(db, event_id, links, now) for event_id in due)


def _expire_event_holds(db, event_id, links, now):
    with db.transaction() as session:
        event = _event_for_update(session, event_id)
        # Read after the lock: what another expirer did meanwhile is seen, not redone.
        lapsed = session.scalars(select(Registration).where(
            Registration.event_id == event_id, Registration.status == domain.PENDING,
            Registration.held_until <= now).order_by(Registration.held_until, Registration.id)).all()
        for registration in lapsed:
            _record(session, domain.expire(event, registration, now), registration, event, links, now)
        if now < event.ends_at:
            for promoted in domain.promote(event, _waitlist(session, event.id)):
                _record(session, "registration.promoted", promoted, event, links, now)
    return len(lapsed)


def _registration_for_update(session, registration_id):
    """A registration and its event, the event locked first (as registering does) and the
    registration read after the lock, so it is as the last writer left it."""
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise NotFound("This registration no longer exists.")
    event = _event_for_update(session, registration.event_id)
    try:
        session.refresh(registration)
    except ObjectDeletedError:  # erased while we waited for the lock
        raise NotFound("This registration no longer exists.") from None
    return registration, event


def _waitlist(session, event_id):
    return session.scalars(select(Registration).where(
        Registration.event_id == event_id, Registration.status == domain.WAITLISTED,
    ).order_by(Registration.queued_at, Registration.id)).all()
