"""Benchmark: webhook fan-out, deliveries per second, through the real recording (the
consumer's step), the real task (claim, sign, POST, record) and a local HTTP receiver.

1. One milestone change to 100 endpoints.
2. 1,000 registrations (1,000 facts) to one endpoint.

The task runs in CELERY_CONCURRENCY threads (default 4, as a worker's pool), on chunks
of tasks.CHUNK ids as the consumer hands them on; the receiver answers 204 at once. The
figures are the pipeline's own cost per call: recording, claiming and signing, the HTTP
round trip on loopback, and the write of each outcome.

    .venv/bin/python bench/webhooks.py                      # SQLite and PostgreSQL (~1 min)
    .venv/bin/python bench/webhooks.py --backends sqlite    # SQLite only
"""
import argparse
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ABIERTO_ENV", "development")
from services.notifications import wiring  # noqa: E402
from services.notifications.models import WebhookEndpoint  # noqa: E402
from services.notifications.pipeline import tasks  # noqa: E402
from services.notifications.webhooks import recording, sealing, transport  # noqa: E402
from shared import config, envelope  # noqa: E402
from shared.db import Database, upgrade, utcnow  # noqa: E402
from tests.integration.webhook_helpers import Receiver  # noqa: E402
from tests.unit.test_alert_emails import alert  # noqa: E402
from tests.unit.test_emails import fact  # noqa: E402

POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
THREADS = int(os.environ.get("CELERY_CONCURRENCY", "4"))


def database(backend, folder):
    name = f"abierto_bench_webhooks_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{folder}/{name}.db"
    else:
        with create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = f"{POSTGRES_URL}/{name}"
    upgrade("notifications", url)
    return url, name


def drop(backend, name):
    if backend != "sqlite":
        with create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def endpoints(db, url, count, event_type, keys):
    with db.transaction() as session:
        session.add_all(WebhookEndpoint(
            url=url, event_types=[event_type], contact_email="ti@portal.example",
            secret=sealing.seal(keys, "whsec_" + "a" * 43), enabled=True, owner_token_id=1, created_by="bench",
            created_at=utcnow()) for _ in range(count))


def milestone():
    data = alert()
    data.pop("subscription")
    return envelope.make("milestone.changed", "/abierto/commitments", "commitments/1/milestones/9", data)


def registration(n):
    data = fact()
    data["registration"]["email"] = f"p{n}@bench.example"
    return envelope.make("registration.confirmed", "/abierto/registration",
                         f"events/1/registrations/{n}", data)


def run(worker, receiver, facts):
    """Record the facts in batches of 100 (the consumer's), send them in chunks; timings."""
    started = time.perf_counter()
    ids = []
    for start in range(0, len(facts), 100):
        ids += recording.record_batch(worker.db, facts[start:start + 100], utcnow(),
                                      timedelta(seconds=120))
    recorded = time.perf_counter()
    chunks = [ids[i:i + tasks.CHUNK] for i in range(0, len(ids), tasks.CHUNK)]
    tasks.send_deliveries([])  # Celery binds the task on first call: not in four threads at once
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for chunk in pool.map(tasks.send_deliveries, chunks) for o in chunk]
    done = time.perf_counter()
    assert outcomes.count("sent") == len(ids) == len(receiver.received), (
        outcomes.count("sent"), len(ids), len(receiver.received))
    return {"calls": len(ids), "record_s": recorded - started, "send_s": done - recorded,
            "per_s": len(ids) / (done - started)}


def scenario(backend, folder, endpoint_count, facts, event_type):
    url, name = database(backend, folder)
    receiver = Receiver().start()
    db = Database(url)
    try:
        settings = config.load("notifications", database_url=url, webhook_allow_private=True)
        worker = replace(wiring.build(settings), db=db, webhooks=transport.adapter(True))
        tasks.collaborators = worker
        endpoints(db, receiver.url, endpoint_count, event_type, settings.keys)
        return run(worker, receiver, facts)
    finally:
        receiver.stop()
        db.dispose()
        drop(backend, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    backends = parser.parse_args().backends.split(",")
    print(f"| backend | scenario | calls | record s | send s | calls/s |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            for label, count, facts, kind in (
                    ("1 milestone change -> 100 endpoints", 100, [milestone()], "milestone.changed"),
                    ("1,000 registrations -> 1 endpoint", 1,
                     [registration(n) for n in range(1000)], "registration.confirmed")):
                got = scenario(backend, folder, count, facts, kind)
                print(f"| {backend} | {label} | {got['calls']} | {got['record_s']:.2f} | "
                      f"{got['send_s']:.2f} | {got['per_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
