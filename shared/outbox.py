"""The transactional outbox: an event is written with the change it describes, then relayed.

`add()` runs inside the caller's transaction; the relay publishes committed rows to the
bus and deletes them only after Redis accepted them, so nothing is lost when Redis is
down and a re-publish after a crash is absorbed by the consumer's idempotency keys.
"""
import logging
import time

from redis.exceptions import RedisError
from sqlalchemy import String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from shared import envelope as envelopes
from shared.db import UTCDateTime, utcnow

log = logging.getLogger(__name__)


class OutboxMixin:
    """Columns of the `outbox` table of every producing service."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def add(session, model, envelope):
    """Queue one validated envelope in the current transaction."""
    # A Core INSERT, written at once: the ORM's unit of work costs more than it adds to an
    # append-only row, and rows keep the order their facts were recorded in.
    session.execute(insert(model.__table__), {
        "event_id": envelope["id"], "event_type": envelope["type"],
        "payload": envelopes.dumps(envelope)})


def relay_once(db, model, bus, stream, batch=200):
    """Publish up to `batch` committed events in order; return how many were published."""
    with db.reading() as connection:  # idle polls must not take SQLite's write lock
        if connection.execute(select(model.id).limit(1)).first() is None:
            return 0
    with db.transaction() as session:
        rows = session.scalars(
            select(model).order_by(model.id).limit(batch).with_for_update(skip_locked=True)
        ).all()
        if rows:
            bus.publish(stream, [row.payload for row in rows])
            for row in rows:
                session.delete(row)
    return len(rows)


def run_relay(db, model, bus, stream, idle_sleep=0.05, stop=lambda: False):
    """Relay forever: fast while there is work, a short sleep when idle, backoff while Redis is down."""
    backoff = 0.5
    while not stop():
        try:
            published = relay_once(db, model, bus, stream)
            backoff = 0.5
        except RedisError as error:
            log.warning("bus unavailable (%s); retrying in %.1fs", type(error).__name__, backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        if published:
            log.info("published %d event(s) to %s", published, stream)
        else:
            time.sleep(idle_sleep)
