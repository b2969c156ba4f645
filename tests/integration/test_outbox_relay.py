"""The outbox relay on a real database (no Redis: a recording bus stands in for it)."""
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from services.registration.models import Outbox
from shared import envelope, outbox
from tests.unit.test_tokens_and_links import fact_data


class RecordingBus:
    """Keeps what it is given; `down` makes it fail as an unreachable Redis does."""

    def __init__(self, down=False):
        self.published, self.down = [], down

    def publish(self, stream, payloads):
        if self.down:
            raise RedisConnectionError("Redis is away")
        self.published.append((stream, list(payloads)))


@pytest.fixture
def queued(empty_database):
    """(db, payloads): five facts in registration's outbox, oldest first."""
    db = empty_database("registration")
    facts = [envelope.make("registration.confirmed", "/abierto/registration",
                           f"events/1/registrations/{n}", fact_data()) for n in range(5)]
    with db.writing() as connection:  # a Core connection, as registering uses
        for fact in facts[:3]:
            outbox.add(connection, Outbox, fact)
    with db.transaction() as session:  # an ORM session, as the other use cases do
        for fact in facts[3:]:
            outbox.add(session, Outbox, fact)
    return db, [envelope.dumps(fact) for fact in facts]


def left(db):
    with db.reading() as connection:
        return connection.execute(select(Outbox.payload).order_by(Outbox.id)).scalars().all()


def test_the_relay_publishes_oldest_first_and_deletes_only_what_it_published(queued):
    """A batch smaller than the outbox: the oldest go out in order; the rest stay queued."""
    db, payloads = queued
    bus = RecordingBus()
    assert outbox.relay_once(db, Outbox, bus, "abierto.test", batch=3) == 3
    assert bus.published == [("abierto.test", payloads[:3])]
    assert left(db) == payloads[3:]
    assert outbox.relay_once(db, Outbox, bus, "abierto.test", batch=3) == 2
    assert bus.published[1] == ("abierto.test", payloads[3:])
    assert left(db) == []
    assert outbox.relay_once(db, Outbox, bus, "abierto.test") == 0
    assert len(bus.published) == 2  # an empty outbox publishes nothing


def test_nothing_is_deleted_when_redis_refuses_the_batch(queued):
    """Redis away: the error reaches the relay loop (which backs off) and every row stays."""
    db, payloads = queued
    with pytest.raises(RedisConnectionError):
        outbox.relay_once(db, Outbox, RecordingBus(down=True), "abierto.test")
    assert left(db) == payloads
    assert outbox.relay_once(db, Outbox, RecordingBus(), "abierto.test") == 5
    assert left(db) == []
