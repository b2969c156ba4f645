"""The outbox relay on a real database and a real Redis: in order, and nothing lost."""
import socket
import threading
import time
import uuid

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import create_engine, event, select, text

from services.registration.models import Outbox
from shared import envelope, outages, outbox
from shared.bus import Bus
from tests.conftest import POSTGRES_URL
from tests.unit.test_tokens_and_links import fact_data

REDIS_URL = "redis://127.0.0.1:6379/15"  # as the consumer tests: a database of their own


@pytest.fixture
def bus():
    """A real bus and a stream of this test's own; `published()` reads back what it got."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    stream = f"test.relay.{uuid.uuid4().hex[:6]}"
    yield Bus(client), stream
    client.delete(stream)


def published(bus, stream):
    return [fields["event"] for _id, fields in bus.redis.xrange(stream)]


@pytest.fixture
def redis_down():
    """A bus whose Redis is not there: nothing listens on its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Bus.from_url(f"redis://127.0.0.1:{port}/0")


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


def test_the_relay_publishes_oldest_first_and_deletes_only_what_it_published(queued, bus):
    """A batch smaller than the outbox: the oldest go out in order; the rest stay queued."""
    db, payloads = queued
    bus, stream = bus
    assert outbox.relay_once(db, Outbox, bus, stream, batch=3) == 3
    assert published(bus, stream) == payloads[:3]
    assert left(db) == payloads[3:]
    assert outbox.relay_once(db, Outbox, bus, stream, batch=3) == 2
    assert published(bus, stream) == payloads
    assert left(db) == []
    assert outbox.relay_once(db, Outbox, bus, stream) == 0
    assert published(bus, stream) == payloads  # an empty outbox publishes nothing


def test_nothing_is_deleted_when_redis_is_away(queued, bus, redis_down):
    """Redis away: the error reaches the relay loop (which backs off) and every row stays."""
    db, payloads = queued
    bus, stream = bus
    with pytest.raises(RedisConnectionError):
        outbox.relay_once(db, Outbox, redis_down, stream)
    assert left(db) == payloads
    assert outbox.relay_once(db, Outbox, bus, stream) == 5
    assert published(bus, stream) == payloads
    assert left(db) == []


def test_an_idle_relay_asks_sqlite_for_rows_only_after_a_commit(queued, bus):
    """Idle on SQLite, the relay reads no table until something is committed, then publishes
    it at once; on PostgreSQL it keeps looking every 50 ms. What runs is seen where it
    runs: SQLite's trace of every statement, PostgreSQL's pg_stat_activity."""
    db, payloads = queued
    bus, stream = bus
    statements = []
    if db.url.startswith("sqlite"):
        trace = lambda connection, _record: connection.set_trace_callback(statements.append)  # noqa: E731
        event.listen(db.engine, "connect", trace)
        db.dispose()  # the relay's connections are made anew, traced
    stop = threading.Event()
    relay = threading.Thread(target=outbox.run_relay, args=(db, Outbox, bus, stream),
                             kwargs={"stop": stop.is_set})
    relay.start()
    try:
        _wait_for(lambda: published(bus, stream) == payloads)
        time.sleep(0.5)  # its own deletes count as a commit: one more look, then idle
        if db.url.startswith("sqlite"):
            statements.clear()
            time.sleep(1.0)
            assert statements and not [s for s in statements if "outbox" in s.lower()]
        else:
            assert len(_looks_seen(db, seconds=1.0)) >= 5
        late = envelope.make("registration.confirmed", "/abierto/registration",
                             "events/1/registrations/9", fact_data())
        with db.writing() as connection:
            outbox.add(connection, Outbox, late)
        _wait_for(lambda: published(bus, stream) == payloads + [envelope.dumps(late)])
    finally:
        stop.set()
        relay.join(5)
        if db.url.startswith("sqlite"):
            event.remove(db.engine, "connect", trace)
            db.dispose()


def _looks_seen(db, seconds):
    """The distinct times PostgreSQL saw a backend of this database start the relay's look,
    sampled every 20 ms for `seconds` (a kept connection: one backend, its start time moving)."""
    seen = set()
    with db.engine.connect() as connection:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            seen.update(connection.execute(text(
                "SELECT pid, query_start FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND query LIKE 'SELECT outbox.id%LIMIT%'")).all())
            connection.rollback()  # a new snapshot of the statistics each time
            time.sleep(0.02)
    return seen


def _wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the relay did not publish in time"
        time.sleep(0.02)



def _relaying(db, bus, stream, **settings):
    """run_relay in a thread, stopped when the block ends."""
    stop = threading.Event()
    relay = threading.Thread(target=outbox.run_relay, args=(db, Outbox, bus, stream),
                             kwargs={"stop": stop.is_set, **settings})
    relay.start()
    return relay, stop


def test_a_backlog_goes_out_batch_after_batch_without_pausing(queued, bus):
    """Full batches mean more wait: the relay looks again at once, not after its idle pause."""
    db, payloads = queued
    bus, stream = bus
    started = time.monotonic()
    relay, stop = _relaying(db, bus, stream, idle_sleep=3.0, batch=2)
    try:
        _wait_for(lambda: published(bus, stream) == payloads)  # 2, 2, then 1
        assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        relay.join(5)


class SlowBus(Bus):
    """The real bus, each publish 30 ms slower, as on a machine busy with a burst: facts
    keep arriving while the relay publishes."""

    def publish(self, stream, payloads):
        time.sleep(0.03)
        return super().publish(stream, payloads)


def test_a_steady_trickle_goes_out_in_batches(queued, bus, caplog):
    """Facts committed one after another while the relay is busy go out a batch per idle
    pause, not in one transaction each: on PostgreSQL, where writers go on while the relay
    publishes, a relay that looked again at once after each publish found a few new ones
    every time, and spent a burst's CPU on transactions."""
    db, payloads = queued
    bus, stream = bus
    caplog.set_level("INFO", logger="shared.outbox")
    relay, stop = _relaying(db, SlowBus(bus.redis), stream, idle_sleep=0.2)
    trickle = [envelope.make("registration.confirmed", "/abierto/registration",
                             f"events/1/registrations/{n}", fact_data()) for n in range(200)]
    try:
        _wait_for(lambda: published(bus, stream) == payloads)
        caplog.clear()
        writing = time.monotonic()
        for fact in trickle:
            with db.writing() as connection:
                outbox.add(connection, Outbox, fact)
            time.sleep(0.002)
        written_in = time.monotonic() - writing
        _wait_for(lambda: published(bus, stream) == payloads + [envelope.dumps(f) for f in trickle])
    finally:
        stop.set()
        relay.join(5)
    batches = [r.getMessage() for r in caplog.records if r.getMessage().startswith("published")]
    assert len(batches) <= written_in / 0.2 + 3, (written_in, batches)


@pytest.mark.backends("postgresql")
def test_a_look_on_a_connection_the_server_ended_is_an_outage_and_the_next_one_reconnects(
        queued, bus):
    """The relay's looks keep their connection between looks (Database.autocommitting); one
    the server ended (a restart) fails its look as an outage, which the relay waits out,
    and the next look opens a new one and finds the rows."""
    db, payloads = queued
    bus, stream = bus
    with db.autocommitting() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()
    with pytest.raises(Exception) as ended:  # noqa: B017 (which one is outages' to say)
        outbox.relay_once(db, Outbox, bus, stream)
    assert outages.database_away(ended.value)
    assert outbox.relay_once(db, Outbox, bus, stream) == 5
    assert published(bus, stream) == payloads
