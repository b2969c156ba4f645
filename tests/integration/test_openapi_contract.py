"""Each service's OpenAPI document is exact: it validates, and requests generated from it
(schemathesis, every check) find no server error, no answer outside its schema, status or
content type, and no schema-valid request refused.

Runs on SQLite seeded as `abierto seed` does, with a token holding every scope of its
service, against the real Redis (rate limits and Idempotency-Key). A small budget per
operation keeps the file near a minute; a failure prints the request to replay it.
"""
import pytest
import schemathesis
from alembic import command
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from services.commitments.app import create_app as create_commitments_app
from services.commitments.declaration import SERVICE as COMMITMENTS
from services.notifications.app import create_app as create_notifications_app
from services.notifications.declaration import SERVICE as NOTIFICATIONS
from services.registration.app import create_app as create_registration_app
from services.registration.declaration import SERVICE as REGISTRATION
from shared import config
from shared.db import Database, alembic_config
from shared.tokens import create_token

DOCUMENT = "/api/v1/openapi.json"
EXAMPLES = 12  # per operation and generation mode: the whole file stays near a minute
SERVICES = {"registration": (REGISTRATION, create_registration_app),
            "commitments": (COMMITMENTS, create_commitments_app),
            "notifications": (NOTIFICATIONS, create_notifications_app)}


class KnownCommitments:
    """The commitments service as notifications reads it, answering for the seeded plan's three."""

    def get(self, commitment_id):
        from services.notifications.commitments_client import UnknownCommitment

        if commitment_id not in (1, 2, 3):
            raise UnknownCommitment(f"There is no commitment {commitment_id}.")
        return {"id": commitment_id, "number": commitment_id, "ogp_id": None,
                "title": {"es": "Compromiso", "en": "Commitment"}, "status": None,
                "progress_pct": None}


def _app(name, folder):
    """(the app, a bearer token with every scope) on a seeded SQLite database."""
    declaration, create_app = SERVICES[name]
    url = f"sqlite:///{folder / name}.db"
    command.upgrade(alembic_config(name, url), "head")
    db = Database(url)
    if declaration.seed:
        declaration.seed(db)
    settings = config.load(name, database_url=url, public_base_url="http://abierto.test",
                           secret_key="openapi-contract-secret")
    extra = {"commitments": KnownCommitments(), "enqueue": lambda ids: None} if (
        name == "notifications") else {}
    app = create_app(settings, db=db, **extra)
    with db.transaction() as session:
        token = create_token(session, declaration.models.ApiToken, "every scope",
                             set(declaration.scopes))
    return app, token


@pytest.fixture(scope="module", params=sorted(SERVICES))
def served(request, tmp_path_factory):
    """(service name, app, token) for each service in turn."""
    app, token = _app(request.param, tmp_path_factory.mktemp(request.param))
    return request.param, app, token


def test_every_document_validates(served):
    _, app, _ = served
    document = app.test_client().get(DOCUMENT).get_json()
    validate(document)  # raises, saying where, unless valid OpenAPI 3.1


@pytest.fixture(scope="module")
def api_schema(served):
    """The served document as schemathesis reads it, sending the all-scopes token."""
    _, app, token = served
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    schema.config.update(headers={"Authorization": f"Bearer {token}"})
    schema.config.generation.update(max_examples=EXAMPLES, modes=["positive", "negative"])
    return schema


contract = schemathesis.pytest.from_fixture("api_schema")


@contract.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_does_what_its_document_says(case):
    case.call_and_validate()
