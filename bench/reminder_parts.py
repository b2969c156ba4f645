"""Where a reminder's CPU goes before the worker, in process: CPU ms per attendee of the
timers' step (announcements.send_reminders: the facts into the outbox), the relay (outbox ->
Redis stream) and the consumer (stream -> deliveries -> Celery tasks), on fresh databases
and a redis-server of its own. No worker, no SMTP: `bench/pipeline.py --only reminders`
measures the whole path. Not part of `make bench`: a tool for working on these three.

    .venv/bin/python bench/reminder_parts.py --attendees 5000 --backends sqlite,postgresql
    .venv/bin/python bench/reminder_parts.py --attendees 5000 --profile consumer
"""
import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sqlalchemy import insert  # noqa: E402

from bench.harness import fresh_databases  # noqa: E402
from services.notifications import wiring  # noqa: E402
from services.notifications.pipeline import consumer  # noqa: E402
from services.registration import announcements  # noqa: E402
from services.registration.facts import Links  # noqa: E402
from services.registration.models import Event, Outbox, Registration  # noqa: E402
from shared import config, outbox  # noqa: E402
from shared.bus import Bus, stream_name  # noqa: E402
from shared.db import Database, utcnow  # noqa: E402
from shared.devstack import RedisServer  # noqa: E402


def new_event(db, n, now):
    """An event starting in an hour, reminded an hour before, with n confirmed attendees."""
    starts = now + timedelta(hours=1)
    with db.transaction() as session:
        event = Event(title="Recordatorios", description="Un panel. " * 40, starts_at=starts,
                      ends_at=starts + timedelta(hours=2), timezone="America/Chihuahua",
                      venue="Sala de Cabildo", address="Calle Victoria No.4", city="Chihuahua",
                      country="MX", host_organization="Municipio de Chihuahua",
                      reminders=["PT1H"])
        session.add(event)
        session.flush()
        past = now - timedelta(days=1)
        session.execute(insert(Registration), [
            {"event_id": event.id, "name": f"Persona {i}", "email": f"r{i}@bench.example",
             "email_key": f"r{i}@bench.example", "sector": "citizen", "language": "es",
             "status": "confirmed", "privacy_consent_at": past, "queued_at": past,
             "created_at": past, "updated_at": past} for i in range(n)])
    return starts


SORT = "tottime"


def measured(name, step, profile):
    """Run `step()` and return (its result, CPU seconds); print its profile if asked."""
    profiler = cProfile.Profile() if name in profile else None
    before = time.process_time()
    if profiler:
        profiler.enable()
    result = step()
    if profiler:
        profiler.disable()
    spent = time.process_time() - before
    if profiler:
        print(f"--- {name}")
        pstats.Stats(profiler).sort_stats(SORT).print_stats(25)
    return result, spent


def one_round(backend, n, profile, folder, redis_url):
    Bus.from_url(redis_url).redis.flushdb()
    with fresh_databases(backend, folder) as urls:
        return _parts(urls, redis_url, n, profile)


def _parts(urls, redis_url, n, profile):
    registration = config.load("registration", database_url=urls["registration"])
    notifications_settings = config.load("notifications", database_url=urls["notifications"],
                                         redis_url=redis_url)
    db = Database(registration.database_url)
    notifications = wiring.build(notifications_settings)
    notifications = replace(notifications, bus=Bus.from_url(redis_url))
    bus = Bus.from_url(redis_url)
    for stream in consumer.STREAMS:
        bus.ensure_group(stream, consumer.GROUP)
    starts = new_event(db, n, utcnow())
    due = starts - timedelta(hours=1) + timedelta(seconds=1)
    links = Links(registration.public_base_url, registration.keys)
    figures = {}
    reminded, figures["timers"] = measured("timers", lambda: announcements.send_reminders(
        db, links, due, registration.reminders), profile)
    assert reminded == n, reminded

    def relay():
        published = 0
        while done := outbox.relay_once(db, Outbox, bus, stream_name("registration")):
            published += done
        return published

    published, figures["relay"] = measured("relay", relay, profile)
    assert published == n, published

    def consume():
        queued = 0
        while entries := bus.read(consumer.GROUP, "parts", consumer.STREAMS, block_ms=None):
            consumer.process(bus, entries, notifications)
            queued += len(entries)
        return queued

    consumed, figures["consumer"] = measured("consumer", consume, profile)
    assert consumed == n, consumed
    db.dispose()
    notifications.db.dispose()
    return {part: round(seconds * 1000 / n, 3) for part, seconds in figures.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--profile", default="", help="parts to profile: timers,relay,consumer")
    args = parser.parse_args()
    profile = set(filter(None, args.profile.split(",")))
    with tempfile.TemporaryDirectory() as folder:
        # One redis-server for every round: Celery keeps its broker connection per process.
        redis_server = RedisServer(Path(folder), fsync="everysec")
        redis_server.start()
        try:
            for backend in args.backends.split(","):
                for number in range(args.rounds):
                    parts = one_round(backend, args.attendees, profile,
                                      Path(folder) / f"{backend}-{number}", redis_server.url)
                    print(f"{backend:10} CPU ms per attendee: " + "  ".join(
                        f"{part} {ms:.3f}" for part, ms in parts.items()), flush=True)
        finally:
            redis_server.stop()


if __name__ == "__main__":
    main()
