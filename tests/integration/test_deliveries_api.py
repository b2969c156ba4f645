"""What an operator sees at GET /api/v1/deliveries, against SQLite and PostgreSQL."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.pipeline import deliveries
from services.notifications.models import ApiToken

NOW = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)
ITEM_FIELDS = {"id", "kind", "recipient", "status", "state", "attempts", "last_error",
               "cloudevent_id", "cloudevent_type", "subject", "created_at", "sent_at",
               "history"}
# (recipient, kind, state, attempts, last_error), oldest first
ROWS = [
    ("ana@example.org", "registration_confirmed", deliveries.SENT, 1, None),
    ("Bea@Example.org", "registration_waitlisted", deliveries.QUEUED, 0, None),
    ("carlos@example.org", "registration_confirmed", deliveries.INFLIGHT, 1, None),
    ("ana@example.org", "registration_promoted", deliveries.AWAITING_RETRY, 2,
     "421 try again later"),
    ("dora@example.org", "registration_confirmed", deliveries.FAILED, 1,
     "550 mailbox unavailable"),
]


def envelope(type_="registration.confirmed", subject="events/1/registrations/1"):
    return {"id": str(uuid.uuid4()), "type": type_, "subject": subject}


@pytest.fixture
def stored(deliveries_app):
    """The five deliveries of ROWS, recorded as the consumer would; their CloudEvent ids."""
    db = deliveries_app[1]
    cloudevent_ids = []
    with db.transaction() as session:
        for n, (recipient, kind, state, attempts, error) in enumerate(ROWS, start=1):
            fact = envelope("registration." + kind.split("_")[1],
                            f"events/1/registrations/{n}")
            row = deliveries.record(session, fact, kind, recipient, {"n": n},
                                    NOW + timedelta(minutes=n), timedelta(minutes=2),
                                    "abierto.test")
            row.state, row.attempts, row.last_error = state, attempts, error
            row.sent_at = NOW if state == deliveries.SENT else None
            cloudevent_ids.append(fact["id"])
    return cloudevent_ids


def get(deliveries_app, headers, query=""):
    response = deliveries_app[0].get(f"/api/v1/deliveries{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_every_delivery_is_listed_newest_first(deliveries_app, deliveries_headers, stored):
    """An operator sees all emails, newest first, with who, what, state and the last error."""
    page = get(deliveries_app, deliveries_headers)
    assert (page["page"], page["per_page"], page["total"]) == (1, 20, 5)
    items = page["items"]
    assert [i["recipient"] for i in items] == [r[0] for r in reversed(ROWS)]
    for item, (recipient, kind, state, attempts, error), cloudevent_id in zip(
            items, reversed(ROWS), reversed(stored)):
        assert set(item) == ITEM_FIELDS
        assert (item["recipient"], item["kind"], item["state"], item["attempts"],
                item["last_error"]) == (recipient, kind, state, attempts, error)
        assert item["status"] == deliveries.PUBLIC_STATUS[state]
        assert item["cloudevent_id"] == cloudevent_id
        assert item["cloudevent_type"] == "registration." + kind.split("_")[1]


def test_the_list_holds_no_email_body_or_context(deliveries_app, deliveries_headers, stored):
    """The stored template context (personal data) is not exposed by the API."""
    for item in get(deliveries_app, deliveries_headers)["items"]:
        assert "context" not in item and "idempotency_key" not in item


@pytest.mark.parametrize("status, states", [
    ("pending", {"queued", "inflight", "awaiting_retry"}),
    ("sent", {"sent"}),
    ("failed", {"failed"}),
])
def test_filtering_by_status(deliveries_app, deliveries_headers, stored, status, states):
    """pending covers queued, in flight and awaiting a retry; sent and failed are themselves."""
    page = get(deliveries_app, deliveries_headers, f"?status={status}")
    assert {i["state"] for i in page["items"]} == states
    assert {i["status"] for i in page["items"]} == {status}
    assert page["total"] == len(states)


@pytest.mark.parametrize("recipient, expected", [
    ("ana@example.org", 2),
    ("BEA@example.ORG", 1),
    ("nobody@example.org", 0),
])
def test_filtering_by_recipient_ignores_case(deliveries_app, deliveries_headers, stored,
                                             recipient, expected):
    """Looking for an address finds its emails whatever its letter case."""
    page = get(deliveries_app, deliveries_headers, f"?recipient={recipient}")
    assert page["total"] == len(page["items"]) == expected
    assert {i["recipient"].lower() for i in page["items"]} <= {recipient.lower()}


def test_filtering_by_kind_and_cloudevent(deliveries_app, deliveries_headers, stored):
    """One template, or the emails answering one CloudEvent."""
    assert get(deliveries_app, deliveries_headers,
               "?kind=registration_confirmed")["total"] == 3
    page = get(deliveries_app, deliveries_headers, f"?cloudevent_id={stored[3]}")
    assert [i["kind"] for i in page["items"]] == ["registration_promoted"]


def test_event_id_still_filters_by_cloudevent(deliveries_app, deliveries_headers, stored):
    """`event_id`, the filter's old name, is a deprecated alias integrators may still use."""
    for query in (f"?event_id={stored[3]}", f"?event_id={stored[3]}&cloudevent_id={stored[3]}"):
        page = get(deliveries_app, deliveries_headers, query)
        assert [i["cloudevent_id"] for i in page["items"]] == [stored[3]]
    spec = deliveries_app[0].get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/deliveries"]["get"]["parameters"]}
    assert parameters["event_id"].get("deprecated") is True
    assert not parameters["cloudevent_id"].get("deprecated")


def test_two_different_cloudevents_in_one_query_are_a_422(deliveries_app, deliveries_headers,
                                                           stored):
    """The old and new names asking for different CloudEvents is refused, not guessed."""
    response = deliveries_app[0].get(
        f"/api/v1/deliveries?event_id={stored[3]}&cloudevent_id={stored[0]}",
        headers=deliveries_headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "event_id" in response.get_json()["errors"]


def test_the_list_is_paginated(deliveries_app, deliveries_headers, stored):
    """per_page and page walk through every delivery once."""
    pages = [get(deliveries_app, deliveries_headers, f"?per_page=2&page={n}") for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert {p["total"] for p in pages} == {5}
    ids = [i["id"] for p in pages for i in p["items"]]
    assert len(set(ids)) == 5 and ids == sorted(ids, reverse=True)


@pytest.mark.parametrize("query, field", [
    ("?status=delivered", "status"),
    ("?per_page=101", "per_page"),
    ("?page=0", "page"),
])
def test_bad_parameters_are_a_422(deliveries_app, deliveries_headers, query, field):
    """An unknown status or page size is refused with the field named."""
    response = deliveries_app[0].get(f"/api/v1/deliveries{query}", headers=deliveries_headers)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_no_token_is_a_401(deliveries_app, stored):
    """Without a token the list is not shown, and the challenge names the scope."""
    response = deliveries_app[0].get("/api/v1/deliveries")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer scope="deliveries:read"'
    assert "recipient" not in response.get_data(as_text=True)


def test_a_token_without_the_scope_is_a_403(deliveries_app, new_token, bearer, stored):
    """A token of this service without deliveries:read is refused."""
    _, db, _ = deliveries_app
    token = new_token(db, {"events:write"}, model=ApiToken)
    response = deliveries_app[0].get("/api/v1/deliveries", headers=bearer(token))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert "deliveries:read" in response.get_json()["detail"]


def test_an_unknown_token_is_a_401(deliveries_app, bearer, stored):
    """A made-up token is refused."""
    response = deliveries_app[0].get("/api/v1/deliveries", headers=bearer("abt_made-up"))
    assert response.status_code == 401


def test_recording_the_same_delivery_twice_keeps_one_row(deliveries_app, deliveries_headers):
    """A redelivered event does not make a second email (the idempotency key holds)."""
    db = deliveries_app[1]
    fact = envelope()
    with db.transaction() as session:
        first = deliveries.record(session, fact, "registration_confirmed", "ana@example.org",
                                  {}, NOW, timedelta(minutes=2), "abierto.test")
        again = deliveries.record(session, fact, "registration_confirmed", " ANA@example.org",
                                  {}, NOW, timedelta(minutes=2), "abierto.test")
        assert again.id == first.id
    assert get(deliveries_app, deliveries_headers)["total"] == 1
