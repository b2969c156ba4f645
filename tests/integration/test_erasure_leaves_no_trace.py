"""Erasure reaches every copy: after `abierto arco erase`, the person's address and name are in
no table of either service's database, in no Redis key or stream entry (dead letters included),
and a fact about them that was on the bus, unconsumed or already in the consumer's hands,
emails nobody. Real Redis, real SMTP, both backends."""
from datetime import datetime, timezone

from sqlalchemy import inspect, select, text

from services.notifications.models import Subscription
from services.notifications.pipeline import consumer, tasks
from services.registration.models import Outbox
from shared.bus import stream_name
from shared.outbox import relay_once

ADDRESS, NAME = "Ana.Olvido@example.org", "Ana Olvido"
REGISTRATIONS = stream_name("registration")


def everything_in(db):
    """Every value of every row of every table, as lower-case text."""
    with db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    yield table, str(value).lower()


def everything_in_redis(bus):
    """Every key's name and every value Redis holds, stream entries included, as text."""
    client = bus.redis
    for key in client.scan_iter():
        yield key, key
        kind = client.type(key)
        values = {"string": lambda: [client.get(key)],
                  "hash": lambda: [*client.hgetall(key).items()],
                  "list": lambda: client.lrange(key, 0, -1),
                  "set": lambda: client.smembers(key),
                  "zset": lambda: client.zrange(key, 0, -1),
                  "stream": lambda: [fields for _id, fields in client.xrange(key)]}[kind]()
        for value in values:
            yield key, str(value)


def consume(bus, notifications, entries=None):
    """What the consumer does with `entries` (default: what is new on the stream), the
    emails sent at once by the worker's task."""
    bus.ensure_group(REGISTRATIONS, consumer.GROUP)
    if entries is None:
        entries = bus.read(consumer.GROUP, "test", [REGISTRATIONS], block_ms=100)
    consumer.process(bus, entries, notifications, enqueue=tasks.send_deliveries)


def traces(databases, bus):
    wanted = (ADDRESS.lower(), NAME.lower())
    found = [(table, value) for db in databases for table, value in everything_in(db)]
    found += [(key, value.lower()) for key, value in everything_in_redis(bus)]
    return [(where, value) for where, value in found if any(w in value for w in wanted)]


def test_after_arco_erase_the_person_is_nowhere_and_nothing_more_reaches_them(
        registration_app, make_event, register_anonymously, worker, notifications, bus, smtp,
        abierto):
    _, db, _ = registration_app
    inbox, _port = smtp
    relay = lambda: relay_once(db, Outbox, bus, REGISTRATIONS)  # noqa: E731
    first, second, third = (make_event(capacity=5)["id"] for _ in range(3))
    them = dict(name=NAME, email=ADDRESS, accessibility_needs="Silla de ruedas",
                accessibility_consent=True)
    assert register_anonymously(first, **them).status_code == 202
    assert register_anonymously(first, 2).status_code == 202  # someone who stays
    with notifications.db.transaction() as session:
        session.add(Subscription(email=ADDRESS, email_key=ADDRESS.lower(), topic="commitment:1",
                                 language="es", status="confirmed",
                                 created_at=datetime.now(timezone.utc)))
    relay()
    consume(bus, notifications)
    assert len(inbox.to(ADDRESS)) == 1 and len(inbox.to("persona2@example.org")) == 1
    # On its way at the moment of erasure: a fact in the consumer's hands, one unread on the
    # bus; and an entry the consumer could not read, kept as a dead letter.
    assert register_anonymously(second, **them).status_code == 202
    relay()
    bus.redis.xadd(REGISTRATIONS, {"event": f'{{"broken": "{ADDRESS}"}}'})
    in_hand, unreadable = bus.read(consumer.GROUP, "test", [REGISTRATIONS])
    consume(bus, notifications, [unreadable])
    assert bus.redis.xlen(consumer.DEAD_LETTERS) == 1
    assert register_anonymously(third, **them).status_code == 202
    relay()
    assert traces([db, notifications.db], bus)  # the search finds them before

    done = abierto("arco", "erase", "--email", ADDRESS.upper(), "--yes")

    assert done.returncode == 0, done.stderr
    consume(bus, notifications, [in_hand])
    consume(bus, notifications)
    assert traces([db, notifications.db], bus) == []
    assert len(inbox.to(ADDRESS)) == 1  # only the email sent before the erasure
    with db.transaction() as session:  # the other person keeps their place
        assert session.execute(text("SELECT email FROM registrations")).scalars().all() == [
            "persona2@example.org"]
    with notifications.db.transaction() as session:
        assert session.scalars(select(Subscription)).all() == []


def test_a_person_who_registers_again_after_erasure_is_emailed(
        registration_app, make_event, register_anonymously, worker, notifications, bus, smtp,
        abierto):
    """The tombstone stops what was on its way, not what the person asks for afterwards."""
    _, db, _ = registration_app
    inbox, _port = smtp
    event = make_event(capacity=5)["id"]
    assert abierto("arco", "erase", "--email", ADDRESS, "--yes").returncode == 0

    assert register_anonymously(event, name=NAME, email=ADDRESS).status_code == 202
    relay_once(db, Outbox, bus, REGISTRATIONS)
    consume(bus, notifications)

    assert len(inbox.to(ADDRESS)) == 1
