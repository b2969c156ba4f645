"""Each service's OpenAPI document is exact: it validates, and requests generated from it
(schemathesis, every check) find no server error, no answer outside its schema, status or
content type, and no request refused that keeps the document: its schemas and the rules
each operation states in `x-abierto-rules` (kept by tests/integration/stated_rules.py).

Runs on SQLite seeded as `abierto seed` does, with a token holding every scope of its
service, against the real Redis (rate limits and Idempotency-Key). A small budget per
operation keeps the file near a minute; a failure prints the request to replay it.
"""
import uuid

import pytest
import schemathesis
from alembic import command
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode

from services.commitments.app import create_app as create_commitments_app
from services.commitments.declaration import SERVICE as COMMITMENTS
from services.notifications.app import create_app as create_notifications_app
from services.notifications.declaration import SERVICE as NOTIFICATIONS
from services.registration.app import create_app as create_registration_app
from services.registration.declaration import SERVICE as REGISTRATION
from shared import config
from shared.db import Database, alembic_config
from shared.tokens import create_token
from tests.integration.stated_rules import Keeper, Unkeepable

DOCUMENT = "/api/v1/openapi.json"
EXAMPLES = 12  # per operation and generation mode: the whole file stays near a minute
SERVICES = {"registration": (REGISTRATION, create_registration_app),
            "commitments": (COMMITMENTS, create_commitments_app),
            "notifications": (NOTIFICATIONS, create_notifications_app)}


class KnownCommitments:
    """The commitments service as notifications reads it, answering for the seeded plan's three."""

    def get(self, commitment_id):
        from shared.commitments_client import UnknownCommitment

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
    return app, token, settings


@pytest.fixture(scope="module", params=sorted(SERVICES))
def served(request, tmp_path_factory):
    """(service name, app, token, settings) for each service in turn."""
    app, token, settings = _app(request.param, tmp_path_factory.mktemp(request.param))
    return request.param, app, token, settings


def test_every_document_validates(served):
    _, app, _, _ = served
    document = app.test_client().get(DOCUMENT).get_json()
    validate(document)  # raises, saying where, unless valid OpenAPI 3.1


def test_the_api_does_what_its_document_says(served):
    _, app, token, settings = served
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    schema.config.generation.update(allow_x00=False)  # U+0000 is refused, as docs/api.md says
    headers = {"Authorization": f"Bearer {token}"}
    keeper = Keeper(app.test_client(), headers, settings.keys)
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, headers, keeper)
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, no body); never a positive run whose
                # every request the stated rules dropped.
                if mode == GenerationMode.POSITIVE:
                    found[f"{operation.label} ({mode})"] = "no request kept the stated rules"
            except (Exception, BaseExceptionGroup) as failure:  # each operation's first finding, all reported
                found[f"{operation.label} ({mode})"] = str(failure)[:3000]
    assert not found, "\n\n".join(f"{label}:\n{text}" for label, text in found.items())


def _run(operation, mode, headers, keeper):
    rules = operation.definition.raw.get("x-abierto-rules", [])

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def call(case):
        if case.headers and "Idempotency-Key" in case.headers:
            # A key reused with another body is a 422 by design (docs/api.md): one per request.
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
        if mode == GenerationMode.POSITIVE and rules:
            try:
                keeper.keep(case, rules)
            except Unkeepable:
                assume(False)  # no request near this one keeps the rules
        case.call_and_validate(headers=headers)

    call()
