"""bench/floor_app.py, the API's cheapest reference, must do what a registration does: if it
drifted from the schema or skipped a write, the figures quoted beside it would mean nothing."""
from datetime import timedelta

from sqlalchemy import text

from bench import floor_app
from services.registration import service as use_cases
from shared import config
from shared.db import Database, upgrade, utcnow

BODY = {"name": "Ana López", "email": " Ana@Example.org", "sector": "citizen",
        "privacy_consent": True, "language": "es"}


def test_the_floor_app_writes_what_a_registration_writes(tmp_path, monkeypatch, outbox_facts):
    url = f"sqlite:///{tmp_path}/floor.db"
    upgrade("registration", url)
    db = Database(url)
    starts = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = use_cases.create_event(db, dict(
        title="Panel", starts_at=starts, ends_at=starts + timedelta(hours=2),
        timezone="America/Chihuahua", host_organization="Municipio", capacity=1), utcnow())
    settings = config.load("registration", database_url=url)
    monkeypatch.setenv("FLOOR_DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("PUBLIC_RATE_LIMIT", "1000/minute")
    monkeypatch.setenv("REGISTRATION_PUBLIC_BASE_URL", "http://abierto.test")
    monkeypatch.setenv("SECRET_KEY", "floor-secret")
    client = floor_app.create_app().test_client()
    client.environ_base["REMOTE_ADDR"] = "10.99.0.1"  # its own rate-limit key in the shared Redis

    first = client.post(f"/api/v1/events/{event.id}/registrations", json=BODY)
    second = client.post(f"/api/v1/events/{event.id}/registrations",
                         json={**BODY, "email": "luis@example.org"})

    assert (first.status_code, first.json["status"]) == (201, "confirmed")
    assert (second.status_code, second.json["status"]) == (201, "waitlisted")  # capacity 1
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
