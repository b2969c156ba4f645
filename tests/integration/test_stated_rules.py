"""Each rule an operation states in `x-abierto-rules`, broken, gets the status it declares
as problem+json; and every stated rule of the three documents has its case here.

Runs on SQLite seeded as `abierto seed` does (the contract test's apps), with real Redis.
"""
import pytest

from services.commitments.transfer import FORMAT
from tests.integration.problems import assert_problem
from tests.integration.test_openapi_contract import DOCUMENT, SERVICES, _app

EVENT = {"title": "Mesa", "starts_at": "2030-03-01T10:00:00Z", "ends_at": "2030-03-01T12:00:00Z",
         "timezone": "America/Chihuahua", "host_organization": "Municipio"}
EARLY, LATE = "2030-01-01", "2030-02-01"
HOOK = {"url": "https://1.1.1.1/hook", "event_types": ["milestone.changed"],
        "contact_email": "ops@example.org"}
IMPORTED = {"format": FORMAT, "member": "Chihuahua", "ordinal": 9, "title": {"es": "Plan"}}


def _commitment(**dates):
    return {"number": 7, "title": {"es": "Compromiso"}, **dates}


# (service, operation, rule, the field it names) -> (method, path, request, field or result)
BREAKS = {
    ("registration", "GET /api/v1/events", "alone", "changed_since"):
        ("get", "/api/v1/events", {"query_string": {"changed_since": "0", "when": "past"}},
         "changed_since"),
    ("registration", "POST /api/v1/events", "order", "starts_at..ends_at"):
        ("post", "/api/v1/events", {"json": {**EVENT, "ends_at": "2030-03-01T09:00:00Z"}}, "ends_at"),
    ("registration", "POST /api/v1/events", "order", "registration_closes_at..ends_at"):
        ("post", "/api/v1/events",
         {"json": {**EVENT, "registration_closes_at": "2030-03-02T09:00:00Z"}}, "ends_at"),
    ("registration", "PATCH /api/v1/events/{event_id}", "order", "starts_at..ends_at"):
        ("patch", "/api/v1/events/{event}", {"json": {"ends_at": "2030-03-01T09:00:00Z"}}, None),
    ("registration", "PATCH /api/v1/events/{event_id}", "order",
     "registration_closes_at..ends_at"):
        ("patch", "/api/v1/events/{event}",
         {"json": {"registration_closes_at": "2030-03-02T09:00:00Z"}}, None),
    ("registration", "POST /api/v1/events/{event_id}/check-ins", "issued", "code"):
        ("post", "/api/v1/events/{event}/check-ins", {"json": {"code": "1-0000AA"}}, "invalid_code"),
    ("commitments", "GET /api/v1/commitments", "alone", "changed_since"):
        ("get", "/api/v1/commitments", {"query_string": {"changed_since": "0", "action_plan": 1}},
         "changed_since"),
    ("commitments", "POST /api/v1/action-plans", "order", "period_start..period_end"):
        ("post", "/api/v1/action-plans", {"json": {"member": "Chihuahua", "ordinal": 8, "title": {
            "es": "Plan"}, "period_start": LATE, "period_end": EARLY}}, "period_end"),
    ("commitments", "PATCH /api/v1/action-plans/{plan_id}", "order", "period_start..period_end"):
        ("patch", "/api/v1/action-plans/1", {"json": {"period_end": "2023-01-01"}}, "period_end"),
    ("commitments", "POST /api/v1/action-plans/import", "order", "period_start..period_end"):
        ("post", "/api/v1/action-plans/import",
         {"json": {**IMPORTED, "period_start": LATE, "period_end": EARLY}}, "period_end"),
    ("commitments", "POST /api/v1/action-plans/import", "order",
     "commitment_start..commitment_end"):
        ("post", "/api/v1/action-plans/import", {"json": {**IMPORTED, "commitments": [
            {"number": 1, "title": {"es": "C"}, "commitment_start": LATE, "commitment_end": EARLY}]}},
         "commitments"),
    ("commitments", "POST /api/v1/action-plans/import", "order", "planned_start..planned_end"):
        ("post", "/api/v1/action-plans/import", {"json": {**IMPORTED, "commitments": [
            {"number": 1, "title": {"es": "C"}, "milestones": [
                {"title": {"es": "H"}, "planned_start": LATE, "planned_end": EARLY}]}]}},
         "commitments"),
    ("commitments", "POST /api/v1/commitments", "order", "start_date..end_date"):
        ("post", "/api/v1/commitments", {"json": {**_commitment(start_date=LATE, end_date=EARLY),
                                                  "action_plan_id": 1}}, "end_date"),
    ("commitments", "POST /api/v1/commitments", "exists", "action_plan_id"):
        ("post", "/api/v1/commitments", {"json": {**_commitment(), "action_plan_id": 2147483647}},
         "action_plan_id"),
    ("commitments", "PATCH /api/v1/commitments/{ref}", "order", "start_date..end_date"):
        ("patch", "/api/v1/commitments/1", {"json": {"start_date": LATE, "end_date": EARLY,
                                                     "justification": "fechas"}}, "end_date"),
    ("commitments", "POST /api/v1/commitments/{ref}/milestones", "order",
     "planned_start..planned_end"):
        ("post", "/api/v1/commitments/1/milestones", {"json": {
            "title": {"es": "H"}, "planned_start": LATE, "planned_end": EARLY}}, "planned_end"),
    ("commitments", "PATCH /api/v1/milestones/{milestone_id}", "order",
     "planned_start..planned_end"):
        ("patch", "/api/v1/milestones/{milestone}",
         {"json": {"planned_end": "2029-01-01", "justification": "se movió"}}, "planned_end"),
    ("commitments", "GET /api/v1/history/consistency", "order", "first..second"):
        ("get", "/api/v1/history/consistency", {"query_string": {"first": 2, "second": 1}},
         "second"),
    ("commitments", "GET /api/v1/history/verify", "together", "size"):
        ("get", "/api/v1/history/verify", {"query_string": {"size": 1}}, "size"),
    ("notifications", "GET /api/v1/deliveries", "alone", "changed_since"):
        ("get", "/api/v1/deliveries", {"query_string": {"changed_since": "0", "kind": "x"}},
         "changed_since"),
    ("notifications", "GET /api/v1/deliveries", "alias", "event_id"):
        ("get", "/api/v1/deliveries", {"query_string": {"event_id": "a", "cloudevent_id": "b"}},
         "event_id"),
    ("notifications", "GET /api/v1/subscriptions", "alone", "changed_since"):
        ("get", "/api/v1/subscriptions", {"query_string": {"changed_since": "0", "topic": "commitment:1"}},
         "changed_since"),
    ("notifications", "POST /api/v1/subscriptions", "exists", "topic"):
        ("post", "/api/v1/subscriptions",
         {"json": {"email": "ana@example.org", "topic": "commitment:999"}}, "topic"),
    ("notifications", "POST /api/v1/webhooks/endpoints", "public-url", "url"):
        ("post", "/api/v1/webhooks/endpoints", {"json": {**HOOK, "url": "https://127.0.0.1/h"}},
         "url"),
    ("notifications", "PATCH /api/v1/webhooks/endpoints/{endpoint_id}", "public-url", "url"):
        ("patch", "/api/v1/webhooks/endpoints/{endpoint}", {"json": {"url": "https://10.0.0.1/h"}},
         "url"),
}


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """{service: (test client, bearer headers, ids of rows to break rules against)}."""
    made = {}
    for name in SERVICES:
        app, token, _ = _app(name, tmp_path_factory.mktemp(name))
        client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
        made[name] = (client, headers, _rows(name, client, headers))
    return made


def _rows(name, client, headers):
    """What the broken requests point at: an event, a milestone, an endpoint of this token."""
    def made(path, body):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    if name == "registration":
        return {"event": made("/api/v1/events", EVENT)}
    if name == "commitments":
        return {"milestone": made("/api/v1/commitments/1/milestones", {
            "title": {"es": "H"}, "planned_start": "2030-01-01", "planned_end": "2030-06-01"})}
    return {"endpoint": made("/api/v1/webhooks/endpoints", HOOK)}


def _stated(client):
    document = client.get(DOCUMENT).get_json()
    return {(f"{method.upper()} {path}", rule["rule"], _names(rule)): rule
            for path, operations in document["paths"].items()
            for method, operation in operations.items() if isinstance(operation, dict)
            for rule in operation.get("x-abierto-rules", [])}


def _names(rule):
    """What tells a rule from the operation's others: its fields."""
    if rule["rule"] == "order":
        return f"{rule['first']}..{rule['then']}"
    return rule.get("field") or rule.get("old") or rule["fields"][0]


def test_every_stated_rule_has_a_case_here(apps):
    stated = {(name, *key) for name, (client, _, _) in apps.items() for key in _stated(client)}
    assert stated == set(BREAKS)


@pytest.mark.parametrize("key", sorted(BREAKS), ids=lambda key: " ".join(key))
def test_a_broken_rule_gets_its_declared_problem(apps, key):
    client, headers, rows = apps[key[0]]
    rule = _stated(client)[key[1:]]
    method, path, request, named = BREAKS[key]
    answer = getattr(client, method)(path.format(**rows), headers=headers, **request)
    body = assert_problem(answer, rule["status"])
    assert body["type"] == rule["type"]
    if named in ("invalid_code",):
        assert body["result"] == named
    elif named:
        assert named in body["errors"], body
