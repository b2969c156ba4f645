"""Following a commitment through POST /api/v1/subscriptions, on SQLite and PostgreSQL.

The commitments service is a tiny real HTTP server started here (commitments 1 and 2
exist, 500 answers an error, anything else is a 404); "down" is a closed port.
"""
import email
import email.policy
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from datetime import timedelta

from services.notifications.app import create_app
from services.notifications.mail import compose
from services.notifications.models import ApiToken
from services.notifications.pipeline import deliveries, mailcap
from shared import config

SECRET_KEY = "subscriptions-test-secret"
PUBLIC_BASE_URL = "http://notifications.test"
TABLES = ("subscriptions", "deliveries", "outbox")
COMMITMENTS = {
    1: {"id": 1, "number": 1, "ogp_id": "MXCHH0001", "status": "in_progress", "progress_pct": 40,
        "title": {"es": "Prevención de la violencia", "en": "Violence prevention"}},
    2: {"id": 2, "number": 2, "ogp_id": None, "status": "not_started", "progress_pct": 0,
        "title": {"es": "Emprendimiento", "en": "Entrepreneurship"}},
}


class CommitmentsHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        prefix, _, tail = self.path.rpartition("/")
        known = prefix == "/api/v1/commitments" and tail.isdigit() and int(tail) in COMMITMENTS
        status = 200 if known else 500 if tail == "500" else 404
        body = json.dumps(COMMITMENTS[int(tail)] if known else {"status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def commitments_api():
    """The base URL of a real HTTP server playing the commitments API."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), CommitmentsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url():
    """A URL where nothing listens: the commitments service is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Follow:
    """The notification app on an empty database, with the ids it handed to the workers."""

    def __init__(self, db, commitments_url):
        self.db, self.queued = db, []
        settings = config.load("notifications", database_url=db.url, secret_key=SECRET_KEY,
                               public_base_url=PUBLIC_BASE_URL)
        commitments = replace(settings.peers["commitments"], api_url=commitments_url)
        self.settings = replace(settings, peers={**settings.peers, "commitments": commitments})
        app = create_app(self.settings, db=db, enqueue=lambda ids: self.queued.append(list(ids)))
        self.client = app.test_client()

    def subscribe(self, email="ana@example.org", topic="commitment:1", language="es", **extra):
        return self.client.post("/api/v1/subscriptions",
                                json={"email": email, "topic": topic, "language": language, **extra})

    def rows(self, sql, **params):
        with self.db.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(sql), params)]

    def set_status(self, status):
        with self.db.transaction() as session:
            session.execute(text("UPDATE subscriptions SET status = :s"), {"s": status})

    def subscriptions(self):
        return self.rows("SELECT * FROM subscriptions ORDER BY id")

    def deliveries(self, kind="subscription_optin"):
        return self.rows("SELECT * FROM deliveries WHERE kind = :k ORDER BY id", k=kind)


@pytest.fixture
def follow(empty_database, commitments_api):
    return Follow(empty_database("notifications"), commitments_api)


@pytest.fixture
def follow_down(empty_database, closed_port_url):
    return Follow(empty_database("notifications"), closed_port_url)


def context_of(delivery):
    context = delivery["context"]
    return json.loads(context) if isinstance(context, str) else context


# --- asking to follow -----------------------------------------------------------------------

def test_subscribing_saves_a_pending_row_an_opt_in_and_a_fact(follow, outbox_facts):
    response = follow.subscribe(email=" Ana@Example.org ", language="en")

    assert response.status_code == 202 and response.get_json() == {"status": "pending"}
    (row,) = follow.subscriptions()
    assert (row["email"], row["email_key"], row["topic"], row["language"], row["status"]) == (
        "Ana@Example.org", "ana@example.org", "commitment:1", "en", "pending")
    assert row["confirmed_at"] is None and row["cancelled_at"] is None
    (delivery,) = follow.deliveries()
    assert (delivery["recipient"], delivery["state"]) == ("Ana@Example.org", "queued")
    assert follow.queued == [[delivery["id"]]]
    (fact,) = outbox_facts(follow.db)
    assert fact["type"] == "subscription.requested"
    assert fact["source"] == "/abierto/notifications"
    assert fact["subject"] == f"subscriptions/{row['id']}"
    assert fact["data"] == {"subscription": {"id": row["id"], "topic": "commitment:1",
                                             "language": "en"}}
    assert "ana@" not in json.dumps(fact).lower()  # integrators learn that, not who
    assert delivery["cloudevent_id"] == fact["id"] and delivery["cloudevent_type"] == fact["type"]


def test_the_opt_in_context_holds_the_link_and_the_commitment(follow):
    follow.subscribe()
    (row,) = follow.subscriptions()
    context = context_of(follow.deliveries()[0])
    subscription = context["subscription"]
    assert subscription["confirm_url"].startswith(f"{PUBLIC_BASE_URL}/subscriptions/confirm/")
    assert {k: v for k, v in subscription.items() if k != "confirm_url"} == {
        "id": row["id"], "email": "ana@example.org", "language": "es", "topic": "commitment:1"}
    assert context["commitment"] == {
        "id": 1, "number": 1, "ogp_id": "MXCHH0001", "status": "in_progress", "progress_pct": 40,
        "title": {"es": "Prevención de la violencia", "en": "Violence prevention"}}


def test_a_recorded_opt_in_builds_into_its_email(follow):
    """The stored context is all the worker needs."""
    follow.subscribe(language="en")
    delivery = follow.deliveries()[0]
    context = context_of(delivery)
    built = compose.build("subscription_optin", context, mail_from="Abierto <a@abierto.test>",
                         message_id=delivery["message_id"])
    message = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    assert message["Subject"] == ("Confirm you want to follow commitment 1: Violence prevention"
                                  " / Confirma que quieres seguir el compromiso 1")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert context["subscription"]["confirm_url"] in text


def test_subscribing_twice_keeps_one_subscription_and_resends_the_opt_in(follow, outbox_facts):
    first, again = follow.subscribe(), follow.subscribe(email="ANA@example.org")
    assert first.get_json() == again.get_json() == {"status": "pending"}
    assert len(follow.subscriptions()) == 1
    assert len(follow.deliveries()) == 2 and len(outbox_facts(follow.db)) == 2


def test_a_flood_for_one_address_sends_at_most_three_opt_ins_an_hour(follow, outbox_facts):
    responses = [follow.subscribe(topic=f"commitment:{1 + n % 2}") for n in range(10)]
    assert {(r.status_code, r.get_data(as_text=True)) for r in responses} == {
        (202, responses[0].get_data(as_text=True))}
    assert len(follow.deliveries()) == 3
    assert len(outbox_facts(follow.db)) == 3
    assert sum(len(ids) for ids in follow.queued) == 3
    other = follow.subscribe(email="bea@example.org")  # the cap is per address
    assert other.status_code == 202 and len(follow.deliveries()) == 4


def test_the_opt_in_cap_counts_every_spelling_of_a_mailbox(follow):
    spellings = ["ana+1@gmail.com", "A.na@gmail.com", "ana+x@googlemail.com", "ANA@gmail.com"]
    assert {follow.subscribe(email=address).status_code for address in spellings} == {202}
    assert [d["recipient"] for d in follow.deliveries()] == spellings[:3]


def test_past_the_mail_cap_a_follow_request_is_saved_but_its_opt_in_suppressed(follow):
    """Five registration emails already went to the mailbox this hour: the request is
    answered and saved as usual, and its opt-in is recorded, not sent."""
    with follow.db.transaction() as session:
        deliveries.record_all(session, [
            ({"id": f"evt-{n}", "type": "registration.confirmed", "subject": f"r/{n}"},
             "registration_confirmed", f"ana+{n}@gmail.com", {}) for n in range(5)],
            deliveries.utcnow(), timedelta(seconds=60), "abierto.test",
            mailcap.parse(follow.settings.mail_cap))
    response = follow.subscribe(email="a.na@gmail.com")
    assert (response.status_code, response.get_json()) == (202, {"status": "pending"})
    assert [s["status"] for s in follow.subscriptions()] == ["pending"]
    (optin,) = follow.deliveries()
    assert optin["state"] == "suppressed" and optin["recipient"] == "a.na@gmail.com"
    assert optin["last_error"] == "mail cap for this mailbox reached (5/hour)"
    assert sum(len(ids) for ids in follow.queued) == 0


def test_simultaneous_requests_for_one_address_still_send_three_and_save_one_row(follow):
    """The address is serialised (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL)."""
    app = follow.client.application
    barrier = threading.Barrier(8)

    def ask(_):
        client = app.test_client()
        barrier.wait()
        return client.post("/api/v1/subscriptions",
                           json={"email": "ana@example.org", "topic": "commitment:1"}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(ask, range(8)))

    assert statuses == [202] * 8
    assert len(follow.subscriptions()) == 1 and len(follow.deliveries()) == 3


def test_a_confirmed_follower_gets_the_same_answer_and_nothing_else(follow, outbox_facts):
    follow.subscribe()
    follow.set_status("confirmed")
    before = (follow.deliveries(), outbox_facts(follow.db))

    response = follow.subscribe()

    assert response.status_code == 202 and response.get_json() == {"status": "pending"}
    assert (follow.deliveries(), outbox_facts(follow.db)) == before
    assert follow.subscriptions()[0]["status"] == "confirmed"


def test_someone_who_left_can_ask_again(follow, outbox_facts):
    follow.subscribe()
    follow.set_status("cancelled")
    response = follow.subscribe(language="en")
    assert response.status_code == 202
    (row,) = follow.subscriptions()
    assert (row["status"], row["language"], row["cancelled_at"]) == ("pending", "en", None)
    assert len(follow.deliveries()) == 2
    assert [f["type"] for f in outbox_facts(follow.db)] == ["subscription.requested"] * 2


# --- refusals -------------------------------------------------------------------------------

def test_an_unknown_commitment_is_a_422_naming_topic(follow, row_counts):
    response = follow.subscribe(topic="commitment:7")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {"topic": ["There is no commitment 7."]}
    assert row_counts(follow.db, TABLES) == dict.fromkeys(TABLES, 0) and follow.queued == []


@pytest.mark.parametrize("body, field", [
    ({"email": "ana@example.org", "topic": "event:1"}, "topic"),
    ({"email": "ana@example.org", "topic": "commitment:0"}, "topic"),
    ({"email": "ana@example.org", "topic": "commitment:99999999999"}, "topic"),
    ({"email": "ana@example.org", "topic": "commitment:1 "}, "topic"),
    ({"email": "ana@example.org", "topic": "commitment:1\n"}, "topic"),
    ({"email": "İ" * 200 + "@example.org", "topic": "commitment:1"}, "email"),  # 412 lower-cased
    ({"email": "ana@example.org"}, "topic"),
    ({"email": "not-an-address", "topic": "commitment:1"}, "email"),
    ({"email": "ana@example.org", "topic": "commitment:1", "language": "fr"}, "language"),
    ({"email": "ana@example.org", "topic": "commitment:1", "name": "Ana"}, "name"),
])
def test_bad_fields_are_a_422_and_write_nothing(follow, row_counts, body, field):
    response = follow.client.post("/api/v1/subscriptions", json=body)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert row_counts(follow.db, TABLES) == dict.fromkeys(TABLES, 0)


def test_commitments_service_down_is_a_503_and_writes_nothing(follow_down, row_counts):
    response = follow_down.subscribe()
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert "try again later" in response.get_json()["detail"]
    assert response.headers["Retry-After"].isdigit()
    assert row_counts(follow_down.db, TABLES) == dict.fromkeys(TABLES, 0)
    assert follow_down.queued == []


def test_commitments_service_failing_is_a_503(follow, row_counts):
    response = follow.subscribe(topic="commitment:500")
    assert response.status_code == 503
    assert row_counts(follow.db, TABLES) == dict.fromkeys(TABLES, 0)


def test_a_broker_that_is_away_does_not_fail_the_request(empty_database, commitments_api):
    """The opt-in is committed; the sweeper queues it when it is due."""
    follow = Follow(empty_database("notifications"), commitments_api)

    def broker_down(ids):
        raise ConnectionError("broker unreachable")

    follow.client.application.extensions["abierto"].enqueue = broker_down
    response = follow.subscribe()
    assert response.status_code == 202
    assert [d["state"] for d in follow.deliveries()] == ["queued"]


# --- the organisers' list -------------------------------------------------------------------

def test_listing_needs_the_subscriptions_read_scope(follow, new_token, bearer):
    follow.subscribe()
    anonymous = follow.client.get("/api/v1/subscriptions")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer scope="subscriptions:read"'
    assert "ana@" not in anonymous.get_data(as_text=True)
    wrong = bearer(new_token(follow.db, {"deliveries:read"}, model=ApiToken))
    assert follow.client.get("/api/v1/subscriptions", headers=wrong).status_code == 403
    right = bearer(new_token(follow.db, {"subscriptions:read"}, model=ApiToken))
    page = follow.client.get("/api/v1/subscriptions", headers=right)
    assert page.status_code == 200
    (item,) = page.get_json()["items"]
    assert set(item) == {"id", "email", "topic", "language", "status", "created_at",
                         "confirmed_at", "cancelled_at"}
    assert (item["email"], item["status"]) == ("ana@example.org", "pending")


def test_the_list_filters_and_paginates(follow, new_token, bearer):
    for n in range(3):
        follow.subscribe(email=f"persona{n}@example.org")
    follow.subscribe(email="otra@example.org", topic="commitment:2")
    headers = bearer(new_token(follow.db, {"subscriptions:read"}, model=ApiToken))

    def get(query):
        response = follow.client.get(f"/api/v1/subscriptions{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    everything = get("")
    assert (everything["page"], everything["per_page"], everything["total"]) == (1, 20, 4)
    assert [i["email"] for i in get("?topic=commitment:2")["items"]] == ["otra@example.org"]
    assert get("?status=confirmed")["total"] == 0
    pages = [get(f"?topic=commitment:1&per_page=2&page={n}") for n in (1, 2)]
    assert [len(p["items"]) for p in pages] == [2, 1] and {p["total"] for p in pages} == {3}
    for query, field in (("?status=gone", "status"), ("?topic=x", "topic"),
                         ("?per_page=101", "per_page")):
        response = follow.client.get(f"/api/v1/subscriptions{query}", headers=headers)
        assert response.status_code == 422 and field in response.get_json()["errors"]


def test_the_openapi_document_describes_subscriptions(follow):
    paths = follow.client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/subscriptions"])
    assert "202" in paths["/api/v1/subscriptions"]["post"]["responses"]
