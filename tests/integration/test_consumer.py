"""The consumer on a real Redis and a real database: a batch of events is handed to the
workers at once (tasks.enqueue shares it out), and acknowledged only after the hand-over."""
import threading
import uuid
from dataclasses import replace

import pytest
import redis
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from services.notifications.pipeline import consumer, deliveries, handlers
from services.notifications.models import Delivery
from shared import envelope
from shared.bus import Bus
from tests.integration.test_subscriptions_fanout import LINKS, follower, milestone_changed
from tests.unit.test_tokens_and_links import fact_data

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, emptied by each test


@pytest.fixture
def bus():
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client.flushdb()
    yield Bus(client)
    client.flushdb()


def confirmed(n):
    data = fact_data()
    data["registration"] = {**data["registration"], "id": n, "email": f"c{n}@example.org"}
    return envelope.make("registration.confirmed", "/abierto/registration",
                         f"events/1/registrations/{n}", data)


def read_all(bus, stream):
    bus.ensure_group(stream, consumer.GROUP)
    return bus.read(consumer.GROUP, "test", [stream], block_ms=100)


def published(bus, events):
    """A new stream holding `events` (envelopes, or raw text for a broken entry); its name."""
    stream = f"test.{uuid.uuid4().hex[:6]}"
    bus.publish(stream, [e if isinstance(e, str) else envelope.dumps(e) for e in events])
    return stream


def pending(bus, stream):
    return bus.redis.xpending(stream, consumer.GROUP)["pending"]


def recipients(db, delivery_ids):
    """The recipient of each delivery, in the order of `delivery_ids`."""
    with db.transaction() as session:
        by_id = dict(session.execute(select(Delivery.id, Delivery.recipient)).all())
    return [by_id[delivery_id] for delivery_id in delivery_ids]


def delivery_count(db):
    with db.transaction() as session:
        return len(session.scalars(select(Delivery.id)).all())


def test_a_batch_is_handed_on_at_once_and_acked_after(worker, notifications, bus, monkeypatch):
    stream = f"test.{uuid.uuid4().hex[:6]}"
    bus.publish(stream, [envelope.dumps(confirmed(n)) for n in range(1, 11)])
    tasks, pending_at_hand_over = [], []

    def enqueue(ids):
        pending_at_hand_over.append(bus.redis.xpending(stream, consumer.GROUP)["pending"])
        if ids:
            tasks.append(list(ids))

    consumer.process(bus, read_all(bus, stream), notifications, enqueue=enqueue)
    assert [len(task) for task in tasks] == [10]  # one hand-over for the batch
    assert pending_at_hand_over == [10]  # nothing acked before its emails were handed on
    assert bus.redis.xpending(stream, consumer.GROUP)["pending"] == 0


def test_a_batch_that_cannot_be_handed_on_stays_pending(worker, notifications, bus, monkeypatch):
    stream = f"test.{uuid.uuid4().hex[:6]}"
    bus.publish(stream, [envelope.dumps(confirmed(n)) for n in range(1, 4)])

    def broker_down(ids):
        raise redis.ConnectionError("broker away")

    with pytest.raises(redis.ConnectionError):
        consumer.process(bus, read_all(bus, stream), notifications, enqueue=broker_down)
    assert bus.redis.xpending(stream, consumer.GROUP)["pending"] == 3  # read again later
    tasks = []
    consumer.process(bus, bus.read(consumer.GROUP, "test", [stream], pending=True), notifications,
                     enqueue=tasks.extend)
    assert len(tasks) == 3 and bus.redis.xpending(stream, consumer.GROUP)["pending"] == 0




def test_what_arrives_within_the_linger_joins_the_batch(bus, monkeypatch):
    """The first entry is read at once; those right behind it come in the same batch."""
    stream = f"test.{uuid.uuid4().hex[:6]}"
    monkeypatch.setattr(consumer, "STREAMS", [stream])
    bus.ensure_group(stream, consumer.GROUP)
    bus.publish(stream, [envelope.dumps(confirmed(1))])
    later = threading.Timer(0.05, bus.publish, [stream, [envelope.dumps(confirmed(n)) for n in (2, 3)]])
    later.start()
    batch = consumer.read_batch(bus, "test", linger=0.5)
    later.join()
    assert [envelope.loads(fields["event"])["data"]["registration"]["id"]
            for _stream, _id, fields in batch] == [1, 2, 3]


# --- recording a batch: one transaction for its registrations, the guarantees kept ----------

@pytest.fixture
def statements(worker):
    """The SQL statements that touch the deliveries table, as the database receives them."""
    seen = []

    def record(_connection, _cursor, statement, *_args):
        if "deliveries" in statement:
            seen.append(statement.split()[0])

    event.listen(worker.engine, "before_cursor_execute", record)
    yield seen
    event.remove(worker.engine, "before_cursor_execute", record)


def test_a_batch_of_registrations_costs_one_look_up_and_one_insert(
        worker, notifications, bus, statements):
    stream = published(bus, [confirmed(n) for n in range(1, 21)])
    tasks = []
    consumer.process(bus, read_all(bus, stream), notifications, enqueue=tasks.extend)
    assert statements == ["SELECT", "INSERT"]
    assert recipients(worker, tasks) == [f"c{n}@example.org" for n in range(1, 21)]
    assert pending(bus, stream) == 0


def test_hand_over_follows_the_order_of_the_entries(worker, notifications, bus, monkeypatch):
    """Registrations around a milestone alert: each goes out in its entry's turn."""
    notifications = replace(notifications, links=LINKS)
    follower(worker, "f1@example.org")
    follower(worker, "f2@example.org")
    stream = published(bus, [confirmed(1), confirmed(2), milestone_changed(), confirmed(3)])
    tasks = []
    consumer.process(bus, read_all(bus, stream), notifications, enqueue=tasks.extend)
    assert recipients(worker, tasks) == ["c1@example.org", "c2@example.org", "f1@example.org",
                                         "f2@example.org", "c3@example.org"]
    assert pending(bus, stream) == 0


def test_an_invalid_entry_is_dead_lettered_and_the_others_handled(worker, notifications, bus):
    stream = published(bus, [confirmed(1), "{not an event", confirmed(2)])
    entries = read_all(bus, stream)
    tasks = []
    consumer.process(bus, entries, notifications, enqueue=tasks.extend)
    assert recipients(worker, tasks) == ["c1@example.org", "c2@example.org"]
    (dead,) = bus.redis.xrange(consumer.DEAD_LETTERS)
    assert dead[1] == {"stream": stream, "entry": entries[1][1], "event": "{not an event"}
    assert pending(bus, stream) == 0


def test_an_event_read_again_adds_no_delivery_and_hands_on_only_what_is_unsent(
        worker, notifications, bus):
    stream = published(bus, [confirmed(n) for n in range(1, 5)])
    entries = read_all(bus, stream)
    first, again = [], []
    consumer.process(bus, entries, notifications, enqueue=first.extend)
    with worker.transaction() as session:
        session.execute(update(Delivery).where(Delivery.id.in_(first[:2])).values(state="sent"))
    # redelivered, as after a reclaim
    consumer.process(bus, entries, notifications, enqueue=again.extend)
    assert again == first[2:] and delivery_count(worker) == 4


def test_the_same_event_twice_in_one_batch_is_one_delivery(worker, notifications, bus):
    """The relay publishes at least once: a repeat can land in the batch of the original."""
    repeated = confirmed(1)
    stream = published(bus, [repeated, confirmed(2), repeated])
    tasks = []
    consumer.process(bus, read_all(bus, stream), notifications, enqueue=tasks.extend)
    assert recipients(worker, tasks) == ["c1@example.org", "c2@example.org"]
    assert delivery_count(worker) == 2 and pending(bus, stream) == 0


def test_a_database_failure_mid_batch_leaves_every_entry_pending(
        worker, notifications, bus, monkeypatch):
    """The registrations before the alert are committed, the alert's page fails: no ack at all."""
    notifications = replace(notifications, links=LINKS)
    follower(worker, "f1@example.org")
    stream = published(bus, [confirmed(1), confirmed(2), milestone_changed(), confirmed(3)])
    record_all, calls = deliveries.record_all, []

    def second_fails(*args):
        calls.append(args)
        if len(calls) == 2:
            raise OperationalError("INSERT INTO deliveries", {}, Exception("disk I/O error"))
        return record_all(*args)

    monkeypatch.setattr(deliveries, "record_all", second_fails)
    tasks = []
    with pytest.raises(OperationalError):
        consumer.process(bus, read_all(bus, stream), notifications, enqueue=tasks.extend)
    assert tasks == [] and pending(bus, stream) == 4
    monkeypatch.setattr(deliveries, "record_all", record_all)
    consumer.process(bus, bus.read(consumer.GROUP, "test", [stream], pending=True), notifications,
                     enqueue=tasks.extend)
    assert recipients(worker, tasks) == ["c1@example.org", "c2@example.org", "f1@example.org",
                                         "c3@example.org"]
    assert delivery_count(worker) == 4 and pending(bus, stream) == 0


def test_a_consumer_that_loses_a_race_for_a_batch_hands_on_the_winners_deliveries(
        worker, notifications, bus, monkeypatch):
    """Another consumer reclaimed the batch and recorded it between our look-up and our insert.

    The unique key refuses our insert; one more try finds theirs, and the consumer goes on.
    """
    stream = published(bus, [confirmed(n) for n in range(1, 4)])
    record_page_once, raced = handlers._record_page_once, []

    def beaten_once(*args):
        if not raced:
            raced.append(record_page_once(*args))  # the other consumer commits first, so
            raise IntegrityError("INSERT INTO deliveries", {}, Exception("unique"))  # ours fails
        return record_page_once(*args)

    monkeypatch.setattr(handlers, "_record_page_once", beaten_once)
    tasks = []
    consumer.process(bus, read_all(bus, stream), notifications, enqueue=tasks.extend)
    assert tasks == raced[0][0] and delivery_count(worker) == 3 and pending(bus, stream) == 0
