"""bench/floor_app.py, the API's cheapest reference, must do what a registration does: if it
drifted from the schema or skipped a write, the figures quoted beside it would mean nothing.

The app runs under gunicorn in a subprocess, as bench/api_skeleton.py runs it: the suite never
imports bench, which may need what the suite does not (and the other way round). Needs
redis-server, like the end-to-end tests: the rate limit counts in a Redis of its own."""
import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import text

from services.registration import service as use_cases
from shared.db import Database, upgrade, utcnow
from shared.devstack import BIN, RedisServer, answers, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]

BODY = {"name": "Ana López", "email": " Ana@Example.org", "sector": "citizen",
        "privacy_consent": True, "language": "es"}


def test_the_floor_app_writes_what_a_registration_writes(tmp_path, outbox_facts):
    url = f"sqlite:///{tmp_path}/floor.db"
    upgrade("registration", url)
    db = Database(url)
    starts = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = use_cases.create_event(db, dict(
        title="Panel", starts_at=starts, ends_at=starts + timedelta(hours=2),
        timezone="America/Chihuahua", host_organization="Municipio", capacity=1), utcnow())
    redis_server = RedisServer(tmp_path)  # its own, so no other test's requests count toward the limit
    redis_server.start()
    port = free_port()
    env = {**os.environ, "FLOOR_DATABASE_URL": url, "REDIS_URL": redis_server.url,
           "PUBLIC_RATE_LIMIT": "1000/minute", "SECRET_KEY": "floor-secret",
           "REGISTRATION_PUBLIC_BASE_URL": "http://abierto.test"}
    with open(tmp_path / "floor.log", "ab") as log:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "bench.floor_app:create_app()"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: server.poll() is not None or answers(f"http://127.0.0.1:{port}/readyz"),
                   30, what="the floor app ready")
        assert server.poll() is None, (tmp_path / "floor.log").read_text()
        register = f"http://127.0.0.1:{port}/api/v1/events/{event.id}/registrations"
        first = requests.post(register, json=BODY, timeout=10)
        second = requests.post(register, json={**BODY, "email": "luis@example.org"}, timeout=10)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # gunicorn and its worker
        server.wait(15)
        redis_server.stop()

    assert (first.status_code, first.json()["status"]) == (201, "confirmed")
    assert (second.status_code, second.json()["status"]) == (201, "waitlisted")  # capacity 1
    with db.engine.connect() as connection:
        assert connection.execute(text(
            "SELECT email_key, status FROM registrations ORDER BY id")).all() == [
            ("ana@example.org", "confirmed"), ("luis@example.org", "waitlisted")]
        assert connection.execute(text("SELECT confirmed_count FROM events")).scalar() == 1
    facts = outbox_facts(db)
    assert [fact["type"] for fact in facts] == ["registration.confirmed", "registration.waitlisted"]
    assert facts[0]["data"]["event"]["starts_at"] == starts.isoformat()
    assert facts[0]["data"]["registration"]["email"] == "Ana@Example.org"
    db.dispose()
