"""A new registration on PostgreSQL in one statement and one round trip, when nothing
about it is in doubt. Anything else (an event this process has not read yet, a full,
closed or changed event, an email registered there already, a pooled connection the server
had ended) writes nothing here and goes the locked way (service.register), which decides as
before; a database that does not answer is answered 503 at once, as the locked way would.

Why it decides as the locked way would. The rules (domain.register) and the fact read the
event's columns in READS; all of them but `confirmed_count` change only when someone edits
the event. Each process keeps them as the locked way last read them, with their VERSION (a
hash the database computes over them). The statement writes only if, under the event's row
lock, the version is still that one and a seat is still free (the one input of the rules a
rush moves): so the rules, asked now, would decide what they decided on the kept copy.
The registration's id, which its fact carries (its cancel link is signed with it), comes
from a block of the table's sequence reserved ahead, as the locked way reserves one: ids
stay unique, but are no longer handed out in the order people registered (their
`created_at` and `queued_at` are), and a worker's unused ones are skipped when it stops.

A connection lost after the server committed but before its answer arrived makes the locked
way find the registration there already: a repeat, as a second click would be.

A locked registration costs four round trips (BEGIN, the lock, the write, COMMIT); on a
rush this is one, in autocommit (shared.db.Database.autocommitting).
"""
import collections
import weakref
from types import SimpleNamespace

from sqlalchemy import Text, bindparam, cast, exc, exists, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from services.registration import domain
from services.registration.facts import SNAPSHOT_READS
from services.registration.models import Event, Outbox, Registration
from shared import outbox
from shared.db import utcnow
from shared.prepared import Prepared

_EVENTS, _REGISTRATIONS, _OUTBOX = Event.__table__, Registration.__table__, Outbox.__table__
# The event's columns a registration reads: what the rules need and what its fact carries.
# Every column more is a value to convert, and on PostgreSQL a column description to build.
READS = {*SNAPSHOT_READS, "capacity", "confirmed_count", "confirm_by_email",
         "registration_closes_at"}
# All of READS but the seat count, as the database writes them out, hashed: it changes when
# an edit changes anything the rules or the fact read.
VERSION = func.sha256(func.convert_to(cast(tuple_(*(
    column for column in _EVENTS.c if column.name in READS - {"confirmed_count"})), Text),
    "UTF8")).label("version")
KEPT_EVENTS = 1024  # per process: the events registered for lately (a few KB each)
RESERVED_IDS = 50  # registration ids taken from the sequence at once, per process

_RESERVE_IDS = Prepared(select(func.array_agg(
    func.nextval(func.pg_get_serial_sequence(_REGISTRATIONS.name, "id"))).label("ids"))
    .select_from(func.generate_series(1, RESERVED_IDS)))
# The row lock serialises seats per event as the locked way's FOR UPDATE does; under
# PostgreSQL's READ COMMITTED a row updated while we waited for it is read again and must
# still match: the same version, and a seat free (domain.seats_left above zero).
_OPEN = select(_EVENTS.c.id).where(
    _EVENTS.c.id == bindparam("event_id"), VERSION == bindparam("version"),
    (_EVENTS.c.capacity.is_(None)) | (_EVENTS.c.confirmed_count < _EVENTS.c.capacity)) \
    .with_for_update().cte("open")
# Inside a WITH, SQLAlchemy fills no column defaults: every column is bound by hand, as
# `new_<column>` (by the column's own name, the UPDATE would also SET the event's columns).
_COLUMNS = [each for each in _REGISTRATIONS.c if each.name != "change_seq"]
_ADDED = insert(_REGISTRATIONS).from_select(
    [each.name for each in _COLUMNS],
    select(*(bindparam(f"new_{each.name}", type_=each.type) for each in _COLUMNS))
    .where(exists(select(_OPEN.c.id)))) \
    .on_conflict_do_nothing(index_elements=["event_id", "email_key"]) \
    .returning(_REGISTRATIONS.c.id, _REGISTRATIONS.c.created_at).cte("added")
# An event without a capacity counts no seats (domain.take_seats): its row is left alone, so
# a rush on it takes the row's lock in turn but writes no new version of it for the next one
# to re-check, no index entries and no change-feed stamp.
_SEATED = update(_EVENTS).where(
    _EVENTS.c.id == bindparam("event_id"), bindparam("seats_taken") != 0,
    exists(select(_ADDED.c.id))).values(
    confirmed_count=_EVENTS.c.confirmed_count + bindparam("seats_taken"),
    updated_at=bindparam("written_at", type_=_EVENTS.c.updated_at.type)).cte("seated")


def new_row(registration, changes, written_at):
    """The `added` part's parameters, `new_<column>`: the registration (its id, event_id,
    email_key and `changes`) and what the columns' defaults would give at `written_at`."""
    values = {"id": registration.id, "event_id": registration.event_id,
              "email_key": registration.email_key, **changes,
              "created_at": written_at, "updated_at": written_at, "invite_sequence": 0,
              "checked_in_at": None, "anonymised_at": None, "walk_in": False, "change_xid": 0}
    return {f"new_{name}": value for name, value in values.items()}


def queued_if(added):
    """The `queued` part of a WITH: the fact's outbox row (outbox.row's values, and
    `written_at`), written only if the `added` part inserted the registration."""
    return insert(_OUTBOX).from_select(
        ["cloudevent_id", "cloudevent_type", "payload", "created_at"],
        select(bindparam("cloudevent_id", type_=_OUTBOX.c.cloudevent_id.type),
               bindparam("cloudevent_type", type_=_OUTBOX.c.cloudevent_type.type),
               bindparam("payload", type_=_OUTBOX.c.payload.type),
               bindparam("written_at", type_=_OUTBOX.c.created_at.type))
        .where(exists(select(added.c.id)))).cte("queued")


_WRITE = Prepared(select(_ADDED.c.id, _ADDED.c.created_at).add_cte(_SEATED)
                  .add_cte(queued_if(_ADDED)))


class _Kept:
    """What one process keeps for one database: the events' READS by id, ids reserved."""

    def __init__(self):
        self.events = {}  # event id -> (version, {column: value})
        self.ids = collections.deque()


_KEPT = weakref.WeakKeyDictionary()  # Database -> _Kept


def keep(db, row):
    """Remember an event as the locked way read it under its lock (READS and `version`)."""
    kept = _KEPT.setdefault(db, _Kept())
    if len(kept.events) >= KEPT_EVENTS:
        kept.events.clear()
    values = {name: value for name, value in row.items() if name in READS}
    kept.events[row["id"]] = (row["version"], values)


def _reserved_id(kept, connection):
    while True:  # another thread of the worker may take the last one first
        try:
            return kept.ids.popleft()
        except IndexError:
            kept.ids.extend(_RESERVE_IDS.first(connection, {})["ids"])


def register(db, registration, changes, make_fact, now, pending_hold):
    """Write a new registration, its seat and its fact (`make_fact(fact_type, event)`) in
    one statement; return its (id, created_at), or None when it wrote nothing (the caller
    goes the locked way). `registration` (its event_id, email_key and `changes`) is filled
    as domain.register fills it, its id too."""
    event_id = registration.event_id
    kept = _KEPT.get(db)
    seen = kept and kept.events.get(event_id)
    if not seen:
        return None
    version, values = seen
    event = SimpleNamespace(**values)  # a copy: the rules change its count
    before = event.confirmed_count
    try:
        fact_type = domain.register(event, registration, now, pending_hold)
    except domain.RegistrationClosed:
        return None  # the locked way reads the event again, and says so if still closed
    if fact_type == "registration.waitlisted":
        return None  # a place in the line is counted under the lock
    try:
        with db.autocommitting() as connection:
            registration.id = _reserved_id(kept, connection)
            changes.update(status=registration.status, held_until=registration.held_until)
            fact = make_fact(fact_type, event)
            written_at = utcnow()
            added = _WRITE.first(connection, {
                **new_row(registration, changes, written_at), **outbox.row(fact),
                "event_id": event_id, "version": version,
                "seats_taken": event.confirmed_count - before, "written_at": written_at})
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            return None  # a pooled connection the server had ended: the locked way checks
        raise  # the database away (shared.outages): answered as before, not tried twice
    return None if added is None else (added["id"], added["created_at"])
