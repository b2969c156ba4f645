"""A database that is away is a 503 with Retry-After, within seconds, and a database that is
back answers again without a restart (SQLite's file; PostgreSQL on a closed port)."""
import logging
import time

from services.registration.app import create_app
from shared import config
from shared.db import Database, upgrade
from shared.devstack import free_port
from tests.integration.problems import assert_problem

REGISTRANT = {"name": "Ana", "email": "ana@example.org", "sector": "citizen", "language": "es",
              "privacy_consent": True}
EVENT = {"title": "Panel", "starts_at": "2031-05-31T10:00:00-06:00",
         "ends_at": "2031-05-31T12:00:00-06:00", "timezone": "America/Chihuahua",
         "venue": "Sala", "address": "Calle 1", "city": "Chihuahua", "country": "MX",
         "host_organization": "Transparencia"}


def _app(db):
    settings = config.load("registration", database_url=db.url, secret_key="outage-test-secret",
                           public_base_url="http://abierto.test")
    return create_app(settings, db=db).test_client()


def _assert_away(response, started):
    body = assert_problem(response, 503)
    assert response.headers["Retry-After"].isdigit(), response.headers
    assert "database" in body["detail"]
    assert time.monotonic() - started < 5, "a database that is away must not make anyone wait"


def test_sqlite_file_away_is_503_and_back_is_200_without_a_restart(
        tmp_path, new_token, bearer, caplog):
    folder = tmp_path / "data"
    url = f"sqlite:///{folder / 'registration.db'}"
    upgrade("registration", url)
    db = Database(url)
    client = _app(db)
    organiser = bearer(new_token(db, {"events:write", "registrations:read"}))
    event_id = client.post("/api/v1/events", json=EVENT, headers=organiser).get_json()["id"]

    folder.rename(tmp_path / "elsewhere")  # the disk went away: nothing can open the file
    folder.write_text("not a folder")
    db.engine.dispose()
    with caplog.at_level(logging.WARNING, logger="shared.errors"):
        for _ in range(3):
            started = time.monotonic()
            _assert_away(client.post(f"/api/v1/events/{event_id}/registrations",
                                     json=REGISTRANT), started)
            started = time.monotonic()
            _assert_away(client.get(f"/api/v1/events/{event_id}"), started)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["database"] != "ok"

        folder.unlink()
        (tmp_path / "elsewhere").rename(folder)
        assert client.post(f"/api/v1/events/{event_id}/registrations",
                           json=REGISTRANT).status_code == 202
    assert client.get("/readyz").status_code == 200
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2, said  # one line when the outage began, one when it ended
    assert "unavailable" in said[0] and "answers again" in said[1]
    listed = client.get(f"/api/v1/events/{event_id}/registrations", headers=organiser).get_json()
    assert [person["email"] for person in listed["items"]] == ["ana@example.org"]


def test_postgresql_that_does_not_answer_is_503_within_seconds(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/abierto"  # nobody listens
    client = _app(Database(url))
    for path in ("/api/v1/events", "/api/v1/events/1"):
        started = time.monotonic()
        _assert_away(client.get(path), started)
    started = time.monotonic()
    _assert_away(client.post("/api/v1/events/1/registrations", json=REGISTRANT), started)
    started = time.monotonic()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and time.monotonic() - started < 5
