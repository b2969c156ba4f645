"""Fixtures for the commitments tests: the real app on a real, emptied database (both backends).

Test modules import the fixtures they use from here; the shared conftest stays untouched.
"""
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from services.commitments import history_guard
from services.commitments.app import create_app
from services.commitments.models import ApiToken, Base
from shared import config
from shared.tokens import create_token
from tests.integration.problems import PROBLEM, assert_problem  # noqa: F401 (for the commitments tests)

NOW = datetime(2024, 3, 1, 18, 0, tzinfo=timezone.utc)  # the app's clock: mid-plan
BASE_URL = "http://abierto.test"
TABLES = ("action_plans", "commitments", "milestones", "assessments", "history", "outbox")


def settings_for(db):
    return config.load("commitments", database_url=db.url, public_base_url=BASE_URL,
                       secret_key="integration-test-secret")


@pytest.fixture
def commitments_app(service_databases):
    """(client, db, settings): the commitments service on its emptied database, clock at NOW."""
    db = service_databases("commitments")
    with unguarded(db), db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
        session.execute(text("DELETE FROM feed_tombstones"))  # the emptying's own tombstones
    settings = settings_for(db)
    return create_app(settings, db=db, clock=lambda: NOW).test_client(), db, settings


@contextmanager
def unguarded(db):
    """The history's triggers dropped for the block, as its table's owner could (the tests
    that play the forger, and emptying the database between tests); back afterwards."""
    with db.engine.begin() as connection:
        history_guard.unguard(connection)
    try:
        yield
    finally:
        with db.engine.begin() as connection:
            history_guard.guard(connection)


@pytest.fixture
def client(commitments_app):
    return commitments_app[0]


@pytest.fixture
def cdb(commitments_app):
    return commitments_app[1]


def token_headers(db, scopes, name="municipio"):
    with db.transaction() as session:
        return {"Authorization": f"Bearer {create_token(session, ApiToken, name, set(scopes))}"}


@pytest.fixture
def writer(cdb):
    """Authorization headers of a token named `municipio` with `commitments:write`."""
    return token_headers(cdb, {"commitments:write"})


def plan_body(**overrides):
    body = {"member": "Chihuahua (Municipality), Mexico", "ordinal": 1,
            "title": {"es": "Primer Plan de Acción", "en": "First Action Plan"},
            "submitted_on": "2023-10-11", "period_start": "2023-10-01", "period_end": "2024-05-31"}
    return {k: v for k, v in {**body, **overrides}.items() if v is not ...}


def commitment_body(plan_id, number=1, **overrides):
    body = {"action_plan_id": plan_id, "number": number,
            "title": {"es": f"Compromiso {number}", "en": f"Commitment {number}"},
            "action": {"es": "Instalar un grupo de trabajo.", "en": "Set up a working group."},
            "start_date": "2023-10-01", "end_date": "2024-05-31",
            "ogp_values": ["civic_participation"], "challenge_areas": ["public_participation"],
            "institutions": [{"name": "Dirección de Desarrollo Rural", "role": "lead"}]}
    return {k: v for k, v in {**body, **overrides}.items() if v is not ...}


def milestone_body(**overrides):
    body = {"title": {"es": "Instalación del grupo", "en": "Group set up"},
            "planned_start": "2023-10-01", "planned_end": "2024-01-31", "status": "in_progress",
            "progress_pct": 40, "responsible": "Dirección de Desarrollo Rural"}
    return {k: v for k, v in {**body, **overrides}.items() if v is not ...}


@pytest.fixture
def make(client, writer):
    """make.plan(**o), make.commitment(plan_id, n, **o), make.milestone(ref, **o) -> JSON (2xx)."""

    class Make:
        @staticmethod
        def _ok(response):
            assert response.status_code == 201, response.get_data(as_text=True)
            return response.get_json()

        def plan(self, **overrides):
            return self._ok(client.post("/api/v1/action-plans", json=plan_body(**overrides),
                                        headers=writer))

        def commitment(self, plan_id, number=1, **overrides):
            return self._ok(client.post("/api/v1/commitments", headers=writer,
                                        json=commitment_body(plan_id, number, **overrides)))

        def milestone(self, ref, **overrides):
            return self._ok(client.post(f"/api/v1/commitments/{ref}/milestones", headers=writer,
                                        json=milestone_body(**overrides)))

    return Make()


def counts(db, tables=TABLES):
    with db.engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in tables}


def history_rows(db):
    with db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT id, subject_type, subject_id, field, actor FROM history ORDER BY id")).all()
