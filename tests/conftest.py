"""How the tests are sorted, and what each kind needs.

- tests/unit: pure rules and builders; fakes are fine here, nothing else runs.
- tests/integration: the real database (SQLite and PostgreSQL) behind the real Flask app;
  no Redis needed except where a test says so.
- tests/e2e: the real processes (gunicorn, relay, consumer, Celery worker, sweeper)
  against a Redis server and an aiosmtpd SMTP server that the tests start themselves.

PostgreSQL is reached at POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432);
each test gets its own database, dropped afterwards. `--backends sqlite` skips PostgreSQL
on a machine without it; `make test` runs both.
"""
import os
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from shared.db import Database, alembic_config

# The tests sign with short, published keys: development is the one place that may
# (shared.config refuses them anywhere else). Set before anything loads settings.
os.environ.setdefault("ABIERTO_ENV", "development")
# Tests register hundreds of people from 127.0.0.1; the limit itself has its own test.
os.environ.setdefault("PUBLIC_RATE_LIMIT", "100000/minute")
os.environ.setdefault("EVENT_CLIENT_LIMIT", "100000/minute")  # likewise, per event
# No test reads a commitments service it did not start: not a `make run` left on :5002
# (port 9, discard, refuses at once). The end-to-end stacks set their own peers' URLs.
os.environ.setdefault("COMMITMENTS_API_URL", "http://127.0.0.1:9")
POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def pytest_addoption(parser):
    parser.addoption("--backends", default="sqlite,postgresql",
                     help="comma-separated databases to run DB tests on")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        backends = metafunc.config.getoption("--backends").split(",")
        about = metafunc.definition.get_closest_marker("backends")
        if about:  # e.g. a race only PostgreSQL's concurrent writers can run
            backends = [name for name in backends if name in about.args]
        metafunc.parametrize("backend", backends, scope="session")


class Databases:
    """Makes fresh, migrated databases for one backend and drops them at the end."""

    def __init__(self, backend, folder):
        self.backend, self.folder, self.created = backend, folder, []

    def url(self, service, revision="head"):
        """A new empty database for `service`, migrated to `revision` (the newest schema)."""
        name = f"abierto_t_{service}_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            url = f"sqlite:///{self.folder / name}.db"
        else:
            with _admin().connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = f"{POSTGRES_URL}/{name}"
            self.created.append(name)
        command.upgrade(alembic_config(service, url), revision)
        return url

    def drop_all(self):
        if self.created:
            with _admin().connect() as connection:
                for name in self.created:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _admin():
    return create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def databases(backend, tmp_path_factory):
    made = Databases(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield made
    made.drop_all()


@pytest.fixture
def database(databases):
    """A factory: database("registration") -> a fresh migrated shared.db.Database."""
    opened = []

    def make(service):
        db = Database(databases.url(service))
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.dispose()
