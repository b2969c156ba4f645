"""The real Flask apps on a real database (SQLite and PostgreSQL), plus helpers.

Each backend gets one migrated database per service for the whole session (made by
tests/conftest.py's `databases`), emptied before every test: creating and dropping a
PostgreSQL database per test costs ~0.2 s each, which would make this suite slow.
Helpers are fixtures that return functions, so test modules need not import this file.
"""
import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from services.mailsink.server import serve
from services.notifications import models as notifications_models
from services.notifications import wiring
from services.notifications.app import create_app as create_notifications_app
from services.notifications.models import ApiToken as NotificationsToken
from services.notifications.pipeline import tasks
from services.registration import models as registration_models
from services.registration.app import create_app as create_registration_app
from services.registration.models import ApiToken as RegistrationToken
from shared import config, envelope
from shared.bus import Bus
from shared.tokens import create_token
from shared.db import Database
from shared.devstack import free_port
from tests.e2e.harness import Inbox

SECRET_KEY = "integration-test-secret"
PUBLIC_BASE_URL = "http://abierto.test"
OPEN_STARTS = "2031-05-31T10:00:00-06:00"  # America/Chihuahua is UTC-6 all year since 2022
OPEN_ENDS = "2031-05-31T12:00:00-06:00"
TABLES = ("events", "registrations", "outbox")
# The erasure and retention tests' Redis database, emptied by each: they search all of it.
ERASURE_REDIS_URL = "redis://127.0.0.1:6379/12"


def _settings(service, db):
    return config.load(service, database_url=db.url, secret_key=SECRET_KEY,
                       public_base_url=PUBLIC_BASE_URL)


METADATA = {"registration": registration_models.Base.metadata,
            "notifications": notifications_models.Base.metadata}


@pytest.fixture(scope="session")
def service_databases(databases):
    """service -> one migrated shared.db.Database for this backend, kept for the session."""
    opened = {}
    yield lambda service: opened.get(service) or opened.setdefault(
        service, Database(databases.url(service)))
    for db in opened.values():
        db.dispose()


@pytest.fixture
def database_with(databases):
    """database_with(metadata) -> a Database of the test's backend holding those tables
    (beside an empty registration schema), for tests of shared code on tables of its own."""
    made = []

    def make(metadata):
        database = Database(databases.url("registration"))
        metadata.create_all(database.engine)
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()


@pytest.fixture
def empty_database(service_databases):
    """empty_database(service) -> the backend's database for `service`, with every row deleted."""

    def get(service):
        db = service_databases(service)
        with db.transaction() as session:
            for table in reversed(METADATA[service].sorted_tables):
                session.execute(table.delete())
            # Emptying the lists left their tombstones (shared.changes): a test starts with none.
            if "feed_tombstones" in METADATA[service].tables:
                session.execute(text("DELETE FROM feed_tombstones"))
        return db

    return get


@pytest.fixture
def registration_app(empty_database):
    """(client, db, settings) for the registration service on an empty database."""
    db = empty_database("registration")
    settings = _settings("registration", db)
    app = create_registration_app(settings, db=db)
    return app.test_client(), db, settings


@pytest.fixture
def deliveries_app(empty_database):
    """(client, db, settings) for the notification service on an empty database."""
    db = empty_database("notifications")
    settings = _settings("notifications", db)
    app = create_notifications_app(settings, db=db)
    return app.test_client(), db, settings


@pytest.fixture
def new_token():
    """new_token(db, scopes, model=registration's ApiToken) -> the bearer token text."""

    def make(db, scopes, model=RegistrationToken, name="test", now=None):
        """`now`: when it is made, for an app whose clock is not today's (tokens expire)."""
        with db.transaction() as session:
            return create_token(session, model, name, set(scopes), now=now)

    return make


@pytest.fixture
def bearer():
    return lambda token: {"Authorization": f"Bearer {token}"}


@pytest.fixture
def organiser_headers(registration_app, new_token, bearer):
    """Authorization headers of an organiser: events:write, registrations:read and
    registrations:write (registering walk-ins, with the detailed answer)."""
    _, db, _ = registration_app
    return bearer(new_token(db, {"events:write", "registrations:read", "registrations:write"}))


@pytest.fixture
def kiosk_headers(registration_app, new_token, bearer):
    """Authorization headers of a kiosk or municipal system: registrations:write only."""
    _, db, _ = registration_app
    return bearer(new_token(db, {"registrations:write"}, name="kiosk"))


@pytest.fixture
def deliveries_headers(deliveries_app, new_token, bearer):
    _, db, _ = deliveries_app
    return bearer(new_token(db, {"deliveries:read"}, model=NotificationsToken))


@pytest.fixture
def future_event():
    """future_event(**overrides) -> a valid POST /api/v1/events body for an open 2031 event."""

    def build(**overrides):
        body = {
            "title": "Presentación del Plan de Acción de Gobierno Abierto",
            "description": "Panel con ciudadanía y áreas responsables.",
            "category": "Access to Information — Seminar/Panel",
            "starts_at": OPEN_STARTS,
            "ends_at": OPEN_ENDS,
            "timezone": "America/Chihuahua",
            "venue": "Salón del Séptimo piso",
            "address": "Calle Victoria No.4, Centro",
            "city": "Chihuahua",
            "country": "MX",
            "latitude": 28.6353,
            "longitude": -106.0889,
            "host_organization": "Municipio de Chihuahua",
            "partners": ["Open Government Partnership"],
            "capacity": 2,
            "language": "es",
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not ...}  # `...` drops a field

    return build


@pytest.fixture
def person():
    """person(n, **overrides) -> a valid public registration body."""

    def build(n=1, **overrides):
        body = {"name": f"Persona {n}", "email": f"persona{n}@example.org",
                "organization": "Colectivo", "sector": "citizen", "language": "es",
                "privacy_consent": True}
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not ...}

    return build


@pytest.fixture
def row_counts():
    """row_counts(db) -> {"events": n, "registrations": n, "outbox": n}."""

    def count(db, tables=TABLES):
        with db.engine.connect() as connection:
            return {t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                    for t in tables}

    return count


@pytest.fixture
def outbox_facts():
    """outbox_facts(db) -> the envelopes in the outbox, oldest first, each validated."""

    def read(db):
        with db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT cloudevent_id, cloudevent_type, payload FROM outbox ORDER BY id")).all()
        out = []
        for cloudevent_id, cloudevent_type, payload in rows:
            parsed = envelope.loads(payload)  # raises unless a valid CloudEvents envelope
            assert (parsed["id"], parsed["type"]) == (cloudevent_id, cloudevent_type)
            out.append(parsed)
        return out

    return read


@pytest.fixture
def nothing_written(registration_app, row_counts):
    """`with nothing_written():` fails unless events, registrations and outbox keep their counts."""
    db = registration_app[1]

    @contextmanager
    def check():
        before = row_counts(db)
        yield before
        assert row_counts(db) == before, "a rejected request wrote rows"

    return check


@pytest.fixture
def registration_status():
    """registration_status(db, id) -> the stored status."""

    def read(db, registration_id):
        with db.engine.connect() as connection:
            return connection.execute(text("SELECT status FROM registrations WHERE id = :i"),
                                      {"i": registration_id}).scalar_one()

    return read


@pytest.fixture
def make_event(registration_app, organiser_headers, future_event):
    """make_event(**overrides) -> the created event's JSON (asserts 201)."""
    client = registration_app[0]

    def make(**overrides):
        response = client.post("/api/v1/events", json=future_event(**overrides),
                               headers=organiser_headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def register(registration_app, person, kiosk_headers):
    """register(event_id, n, **overrides) -> the response of the POST made with a
    `registrations:write` token: 201/200 with the registration's id and status."""
    client = registration_app[0]

    def post(event_id, n=1, **overrides):
        return client.post(f"/api/v1/events/{event_id}/registrations", json=person(n, **overrides),
                           headers=kiosk_headers)

    return post


@pytest.fixture
def register_anonymously(registration_app, person):
    """register_anonymously(event_id, n, **overrides) -> the response of the public POST
    (no token): the one 202 answer, whoever registers."""
    client = registration_app[0]

    def post(event_id, n=1, **overrides):
        return client.post(f"/api/v1/events/{event_id}/registrations", json=person(n, **overrides))

    return post


# --- the notification worker's surroundings: a real SMTP server, the task's collaborators ---

@pytest.fixture
def smtp(tmp_path):
    inbox, port = Inbox(tmp_path / "mail"), free_port()
    controller = serve(None, "127.0.0.1", port, handler=inbox)
    yield inbox, port
    controller.stop()


@pytest.fixture
def notifications(empty_database, smtp):
    """The notification processes' collaborators, pointed at this test's database and SMTP
    server."""
    db, (_inbox, port) = empty_database("notifications"), smtp
    settings = config.load("notifications", database_url=db.url, smtp_host="127.0.0.1",
                           smtp_port=port, smtp_timeout=3.0, mail_from="Abierto <a@abierto.test>")
    made = replace(wiring.build(settings), db=db)
    yield made
    made.mailer._close()


@pytest.fixture
def worker(notifications, monkeypatch):
    """A worker process's surroundings: its tasks use `notifications`; this is its database."""
    monkeypatch.setattr(tasks, "collaborators", notifications)
    return notifications.db


@pytest.fixture
def bus():
    """The bus on a Redis database of its own, empty at the start and the end of the test."""
    client = redis.Redis.from_url(ERASURE_REDIS_URL, decode_responses=True)
    client.flushdb()
    yield Bus(client)
    client.flushdb()


@pytest.fixture
def abierto(registration_app, empty_database, tmp_path, bus):
    """abierto(*args, input=None) -> the finished `abierto` process, on the test databases
    and `bus`."""
    db, settings = registration_app[1], registration_app[2]
    env = dict(os.environ, REGISTRATION_DATABASE_URL=db.url,
               NOTIFICATIONS_DATABASE_URL=empty_database("notifications").url,
               DATA_DIR=str(tmp_path), SECRET_KEY=settings.secret_key,
               PUBLIC_BASE_URL=settings.public_base_url, LOG_LEVEL="WARNING",
               REDIS_URL=ERASURE_REDIS_URL)
    env.pop("DATABASE_URL", None)
    command = Path(sys.executable).with_name("abierto")

    def run(*args, input=None, **changes):
        return subprocess.run([str(command), *args], env={**env, **changes}, input=input,
                              capture_output=True, text=True, timeout=60)

    return run
