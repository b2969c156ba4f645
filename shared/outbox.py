"""The transactional outbox: an event is written with the change it describes, then relayed.

`add()` runs inside the caller's transaction; the relay publishes committed rows to the
bus and deletes them only after Redis accepted them, so nothing is lost when Redis is
down and a re-publish after a crash is absorbed by the consumer's idempotency keys.
"""
import functools
import logging
import time

from redis.exceptions import RedisError
from sqlalchemy import String, Text, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from shared import envelope as envelopes, outages
from shared.db import UTCDateTime, utcnow
from shared.prepared import Prepared

log = logging.getLogger(__name__)


class OutboxMixin:
    """Columns of the `outbox` table of every producing service."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    cloudevent_id: Mapped[str] = mapped_column(String(36), unique=True)
    cloudevent_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def add(connection, model, envelope):
    """Queue one validated envelope in the caller's transaction (a Session or a Core Connection)."""
    # A Core INSERT, written at once: the ORM's unit of work costs more than it adds to an
    # append-only row, and rows keep the order their facts were recorded in.
    connection.execute(_insert(model.__table__), row(envelope))


def add_all(connection, model, batch):
    """Queue many validated envelopes at once, in order: one executemany, not a round trip
    each (a fan-out to thousands of attendees holds its event's lock meanwhile)."""
    if batch:
        connection.execute(_insert(model.__table__), [row(envelope) for envelope in batch])


def row(envelope):
    """The outbox row of one validated envelope (created_at aside: its column's default)."""
    return {"cloudevent_id": envelope["id"], "cloudevent_type": envelope["type"],
            "payload": envelopes.dumps(envelope)}


@functools.cache
def _insert(table):
    # One statement per table: SQLAlchemy then computes its cache key once, not per row.
    return insert(table)


def relay_once(db, model, bus, stream, batch=200):
    """Publish up to `batch` committed events in order; return how many were published."""
    outbox = model.__table__
    if not _has_rows(db, outbox):
        return 0
    with db.writing() as connection:
        # Rows another relay has locked are skipped. What is published is deleted in this
        # transaction once Redis accepted it: a publish error rolls back and deletes nothing.
        rows = connection.execute(
            select(outbox.c.id, outbox.c.payload).order_by(outbox.c.id).limit(batch)
            .with_for_update(skip_locked=True)).all()
        if rows:
            bus.publish(stream, [row.payload for row in rows])
            connection.execute(delete(outbox).where(outbox.c.id.in_([row.id for row in rows])))
    return len(rows)


def _has_rows(db, outbox):
    """Whether the outbox holds a committed row, looked at before taking any lock: on SQLite
    through a reading connection, which never waits for the writer; on PostgreSQL in one
    autocommitted statement on a kept connection (Database.autocommitting; one connection
    more per relay): an idle relay looks twenty times a second, and a pool checkout, BEGIN,
    SELECT and ROLLBACK made a look cost 240 µs of CPU, the relay's and the server's,
    against 40 now. A connection the server ended fails its look as an outage."""
    with db.autocommitting() if db.autocommits() is not None else db.reading() as connection:
        return _look(outbox).first(connection, {}) is not None


@functools.cache
def _look(table):
    return Prepared(select(table.c.id).limit(1))


UPKEEP_EVERY = 3600.0  # seconds between two runs of the relay's `upkeep`


def run_relay(db, model, bus, stream, idle_sleep=0.05, stop=lambda: False, upkeep=None,
              batch=200):
    """Relay forever: at once while full batches wait, after a short sleep otherwise, with
    a capped backoff while the database or Redis is away (one line when an outage begins,
    one when it ends).
    On SQLite an idle look reads `data_version` and asks for rows only when something was
    committed since the last empty look: idle polls cost next to nothing.

    `upkeep()`, if given, runs every UPKEEP_EVERY: the one process every service runs keeps
    its tables trim (shared.changes.prune_old); its failure is logged, never fatal."""
    empty_at = upkept_at = None
    database, redis = outages.Outage("the database", log), outages.Outage("the bus (Redis)", log)
    while not stop():
        try:
            if upkeep and (upkept_at is None or time.monotonic() - upkept_at >= UPKEEP_EVERY):
                _upkeep(upkeep)
                upkept_at = time.monotonic()
            # Read before looking, so that a commit after it is seen next time.
            version = db.data_version()
            if version is not None and version == empty_at:
                time.sleep(idle_sleep)
                continue
            published = relay_once(db, model, bus, stream, batch)
        except RedisError as error:  # nothing was deleted: the rows go out once it is back
            redis.wait(error)
            continue
        except Exception as error:
            if not outages.database_away(error):
                raise
            database.wait(error)
            continue
        database.recovered()
        redis.recovered()
        if published:
            log.info("published %d event(s) to %s", published, stream)
            empty_at = None
        else:
            empty_at = version
        if published < batch:
            # Only a full batch says more are waiting. Looking again at once after a partial
            # one found a few more each time while writers went on: on PostgreSQL, a burst
            # of registrations cost the relay a transaction (seven round trips) per handful
            # of events. An event now waits at most `idle_sleep` more, as when idle.
            time.sleep(idle_sleep)


def _upkeep(upkeep):
    try:
        done = upkeep()
    except Exception as error:
        if outages.away(error):
            raise  # waited out like any other step
        log.warning("upkeep failed: %s: %s", type(error).__name__, error)
        return
    if done:
        log.info("upkeep: %s", done)
