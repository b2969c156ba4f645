"""Each service's OpenAPI document is exact: it validates, and requests generated from it
(schemathesis, every check) find no server error, no answer outside its schema, status or
content type, and no schema-valid request refused.

Runs on SQLite seeded as `abierto seed` does, with a token holding every scope of its
service, against the real Redis (rate limits and Idempotency-Key). A small budget per
operation keeps the file near a minute; a failure prints the request to replay it.
"""
import re
import uuid

import pytest
import schemathesis
from alembic import command
from hypothesis import HealthCheck, Phase, given, settings
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

DOCUMENT = "/api/v1/openapi.json"
EXAMPLES = 12  # per operation and generation mode: the whole file stays near a minute
SERVICES = {"registration": (REGISTRATION, create_registration_app),
            "commitments": (COMMITMENTS, create_commitments_app),
            "notifications": (NOTIFICATIONS, create_notifications_app)}


# Schema-valid requests still refused (422): rules across fields or against stored state
# that the document does not yet say. Each is to be fixed in its schema (a pattern, a
# `format`, `dependentRequired`, `oneOf`) or its description, and then taken off this list:
# the test fails for a finding not listed, and for a listed one that no longer happens.
# A change feed's cursor is opaque: only one the API handed out (or 0) is accepted, and it
# does not combine with the list's filters.
FEED = "`changed_since` only as a `next_cursor` handed out, and without filters"
STILL_REFUSED = {
    # commitments
    "GET /api/v1/action-plans (positive)": FEED,
    "GET /api/v1/commitments (positive)": FEED,
    "POST /api/v1/action-plans (positive)": "`period_end` not before `period_start`",
    "POST /api/v1/action-plans/import (positive)": "the same `period_end`",
    "PATCH /api/v1/action-plans/{plan_id} (positive)": "the same, against the stored period",
    "POST /api/v1/commitments (positive)": "`action_plan_id` must name a stored plan",
    "POST /api/v1/commitments/{ref}/milestones (positive)": "`planned_end` not before `planned_start`",
    "GET /api/v1/history/entries/{entry_id}/inclusion (positive)": "`size` at most the log's",
    "GET /api/v1/history/consistency (positive)": "`first` at most `second`",
    # OpenAPI describes each query parameter alone: a rule tying two of them has no place.
    "GET /api/v1/history/verify (positive)": "`size` and `root` together or neither",
    # notifications
    "POST /api/v1/subscriptions (positive)": "the commitment must exist (commitments service)",
    "GET /api/v1/deliveries (positive)": "`cloudevent_id` or its old name `event_id`, not both; "
                                         + FEED,
    "GET /api/v1/subscriptions (positive)": FEED,
    "GET /api/v1/webhooks/endpoints (positive)": FEED,
    "GET /api/v1/webhooks/endpoints/{endpoint_id}/deliveries (positive)": FEED,
    "POST /api/v1/webhooks/endpoints (positive)":
        "`url` must name an https host that resolves, to public addresses only",
    "PATCH /api/v1/webhooks/endpoints/{endpoint_id} (positive)": "`url` likewise",
    # registration
    "GET /api/v1/events (positive)": FEED,
    "GET /api/v1/events/{event_id}/registrations (positive)": FEED,
    "GET /api/v1/events/{event_id}/staff-links (positive)": FEED,
    "GET /api/v1/arco/requests (positive)": FEED,
    "POST /api/v1/events (positive)": "`ends_at` after `starts_at`",
    "PATCH /api/v1/events/{event_id} (positive)": "the same, against the stored times",
    # An `if`/`then` would also bind the answers, which share the schema and never carry
    # the (write-only) consent.
    "POST /api/v1/events/{event_id}/registrations (positive)":
        "`accessibility_needs` only with `accessibility_consent` true",
    "POST /api/v1/events/{event_id}/check-ins (positive)":
        "a `code` must be one the API signed for this event; any other is `invalid_code`",
}


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


def test_the_api_does_what_its_document_says(served):
    _, app, token = served
    schema = schemathesis.openapi.from_wsgi(DOCUMENT, app)
    schema.config.generation.update(allow_x00=False)  # U+0000 is refused, as docs/api.md says
    headers = {"Authorization": f"Bearer {token}"}
    found, tried = {}, set()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            tried.add(f"{operation.label} ({mode})")
            try:
                _run(operation, mode, headers)
            except Unsatisfiable:
                pass  # nothing to make invalid: no parameters and no body
            except (Exception, BaseExceptionGroup) as failure:  # each operation's first finding, all reported
                found[f"{operation.label} ({mode})"] = str(failure)[:3000]
    # A listed operation may only refuse valid data (ST202): any other finding is new.
    new = {label: text for label, text in found.items()
           if label not in STILL_REFUSED or set(re.findall(r"- (ST\d+)", text)) != {"ST202"}}
    assert not new, "\n\n".join(f"{label}:\n{text}" for label, text in new.items())
    fixed = sorted(label for label in STILL_REFUSED if label in tried and label not in found)
    assert not fixed, f"now accepted: take {fixed} off STILL_REFUSED"


def _run(operation, mode, headers):
    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def call(case):
        if case.headers and "Idempotency-Key" in case.headers:
            # A key reused with another body is a 422 by design (docs/api.md): one per request.
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
        case.call_and_validate(headers=headers)

    call()
