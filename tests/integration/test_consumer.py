"""The consumer on a real Redis and a real database: a batch of events is handed to the
workers at once (tasks.enqueue shares it out), and acknowledged only after the hand-over."""
import threading
import uuid

import pytest
import redis

from services.notifications import consumer, runtime
from shared import envelope
from shared.bus import Bus
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


def test_a_batch_is_handed_on_at_once_and_acked_after(worker, bus, monkeypatch):
    monkeypatch.setattr(runtime, "links", lambda: None)
    stream = f"test.{uuid.uuid4().hex[:6]}"
    bus.publish(stream, [envelope.dumps(confirmed(n)) for n in range(1, 11)])
    tasks, pending_at_hand_over = [], []

    def enqueue(ids):
        pending_at_hand_over.append(bus.redis.xpending(stream, consumer.GROUP)["pending"])
        if ids:
            tasks.append(list(ids))

    consumer.process(bus, read_all(bus, stream), enqueue=enqueue)
    assert [len(task) for task in tasks] == [10]  # one hand-over for the batch
    assert pending_at_hand_over == [10]  # nothing acked before its emails were handed on
    assert bus.redis.xpending(stream, consumer.GROUP)["pending"] == 0


def test_a_batch_that_cannot_be_handed_on_stays_pending(worker, bus, monkeypatch):
    monkeypatch.setattr(runtime, "links", lambda: None)
    stream = f"test.{uuid.uuid4().hex[:6]}"
    bus.publish(stream, [envelope.dumps(confirmed(n)) for n in range(1, 4)])

    def broker_down(ids):
        raise redis.ConnectionError("broker away")

    with pytest.raises(redis.ConnectionError):
        consumer.process(bus, read_all(bus, stream), enqueue=broker_down)
    assert bus.redis.xpending(stream, consumer.GROUP)["pending"] == 3  # read again later
    tasks = []
    consumer.process(bus, bus.read(consumer.GROUP, "test", [stream], pending=True),
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
