"""Idempotency-Key on the API's POSTs, against the real app, a real database and real Redis
(127.0.0.1:6379): concurrent retries make one row and get one answer; a key is the caller's."""
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests
from werkzeug.serving import make_server

from services.registration.app import create_app
from shared.idempotency import IdempotencyStore
from tests.integration.conftest import _settings

pytestmark = pytest.mark.usefixtures("backend")


def key():
    return str(uuid.uuid4())  # every test its own keys: Redis is shared by the whole run


@pytest.fixture
def served(empty_database):
    """serve(**collaborators) -> (base URL, db) of the registration app on a port of its own,
    answering requests in threads, as gunicorn's workers would, side by side."""
    servers = []

    def serve(**collaborators):
        db = empty_database("registration")
        app = create_app(_settings("registration", db), db=db, **collaborators)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", db

    yield serve
    for server in servers:
        server.shutdown()


def test_ten_concurrent_posts_with_one_key_make_one_event_and_ten_identical_answers(
        served, new_token, bearer, future_event, row_counts):
    base, db = served()
    headers = {**bearer(new_token(db, {"events:write"})), "Idempotency-Key": key()}
    body = future_event(title="Diez intentos, un evento")

    def post(_):
        return requests.post(f"{base}/api/v1/events", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(post, range(10)))

    assert row_counts(db, ("events",)) == {"events": 1}
    assert {(a.status_code, a.content, a.headers["Content-Type"]) for a in answers} == {
        (201, answers[0].content, "application/json")}
    assert [a.headers.get("Idempotent-Replayed") for a in answers].count("true") == 9


def test_a_repeat_while_the_first_still_runs_is_409_then_gets_the_first_answer(
        served, new_token, bearer, future_event, row_counts):
    gate, slow = threading.Event(), threading.Event()

    def clock():  # the first request's use case waits here until the test lets it go
        slow.set()
        gate.wait(10)
        return datetime.now(timezone.utc)

    base, db = served(clock=clock)
    headers = {**bearer(new_token(db, {"events:write"})), "Idempotency-Key": key()}
    post = lambda: requests.post(f"{base}/api/v1/events", json=future_event(),  # noqa: E731
                                 headers=headers, timeout=30)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post)
        assert slow.wait(10)
        repeat = post()
        assert repeat.status_code == 409
        assert repeat.headers["Content-Type"] == "application/problem+json"
        assert repeat.headers["Retry-After"] == "1"
        assert "still running" in repeat.json()["detail"]
        gate.set()
        assert first.result().status_code == 201
    again = post()
    assert (again.status_code, again.content) == (201, first.result().content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert row_counts(db, ("events",)) == {"events": 1}


def test_the_same_key_for_another_request_is_422_and_runs_nothing(
        registration_app, organiser_headers, future_event, nothing_written):
    client = registration_app[0]
    headers = {**organiser_headers, "Idempotency-Key": key()}
    assert client.post("/api/v1/events", json=future_event(), headers=headers).status_code == 201
    with nothing_written():
        other_body = client.post("/api/v1/events", json=future_event(title="Otro"), headers=headers)
        other_path = client.post("/api/v1/events/1/registrations", json={}, headers=headers)
    for answer in (other_body, other_path):
        assert answer.status_code == 422
        assert answer.mimetype == "application/problem+json"
        assert "different request" in answer.get_json()["detail"]


@pytest.mark.parametrize("value", ["", '""', "x" * 256, "clé-ñ"])
def test_an_empty_long_or_non_ascii_key_is_400_and_runs_nothing(
        registration_app, organiser_headers, future_event, nothing_written, value):
    client = registration_app[0]
    with nothing_written():
        answer = client.post("/api/v1/events", json=future_event(),
                             headers={**organiser_headers, "Idempotency-Key": value})
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    assert "Idempotency-Key" in answer.get_json()["detail"]


def test_a_key_of_255_characters_quoted_as_rfc_8941_says_is_the_same_key_bare(
        registration_app, organiser_headers, future_event, row_counts):
    client, db, _ = registration_app
    bare = key() + "x" * 219
    assert len(bare) == 255
    first = client.post("/api/v1/events", json=future_event(),
                        headers={**organiser_headers, "Idempotency-Key": bare})
    quoted = client.post("/api/v1/events", json=future_event(),
                         headers={**organiser_headers, "Idempotency-Key": f'"{bare}"'})
    assert first.status_code == quoted.status_code == 201
    assert quoted.headers["Idempotent-Replayed"] == "true"
    assert row_counts(db, ("events",)) == {"events": 1}


def test_anonymous_registration_replays_the_one_202_and_keys_are_each_callers_own(
        registration_app, make_event, person, row_counts):
    client, db, _ = registration_app
    event = make_event(capacity=5)
    url = f"/api/v1/events/{event['id']}/registrations"
    shared_key = key()

    def post(n, idem, address="198.51.100.7"):
        return client.post(url, json=person(n), headers={"Idempotency-Key": idem},
                           environ_base={"REMOTE_ADDR": address})

    first = post(1, shared_key)
    replayed = post(1, shared_key)
    someone_else = post(2, key())
    assert first.status_code == replayed.status_code == someone_else.status_code == 202
    # byte for byte one answer, whoever registered and however often it was sent
    assert first.data == replayed.data == someone_else.data
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in someone_else.headers
    # the replay ran nothing: one registration and one fact (one email) for persona 1
    assert row_counts(db, ("registrations", "outbox")) == {"registrations": 2, "outbox": 2}

    # Another client sending the same key is another caller: nothing of the first leaks,
    # its request runs (the repeat tells persona 1's mailbox what it holds, as without a key).
    stranger = post(1, shared_key, address="203.0.113.9")
    assert stranger.status_code == 202 and stranger.data == first.data
    assert "Idempotent-Replayed" not in stranger.headers
    assert row_counts(db, ("registrations",)) == {"registrations": 2}


def test_with_redis_away_a_keyed_post_is_503_and_runs_nothing_and_an_unkeyed_one_runs(
        empty_database, new_token, bearer, future_event, row_counts):
    db = empty_database("registration")
    settings = _settings("registration", db)
    away = IdempotencyStore.from_url("redis://127.0.0.1:1/0", "registration", "secret")
    client = create_app(settings, db=db, idempotency=away).test_client()
    headers = bearer(new_token(db, {"events:write"}))

    refused = client.post("/api/v1/events", json=future_event(),
                          headers={**headers, "Idempotency-Key": key()})
    assert refused.status_code == 503
    assert refused.mimetype == "application/problem+json"
    assert refused.headers["Retry-After"] == "5"
    assert row_counts(db, ("events",)) == {"events": 0}
    assert client.post("/api/v1/events", json=future_event(), headers=headers).status_code == 201


def test_an_answer_about_the_caller_is_not_kept_so_a_retry_runs(
        registration_app, organiser_headers, future_event, new_token, bearer, row_counts):
    client, db, _ = registration_app
    idem = key()
    without_scope = bearer(new_token(db, {"registrations:read"}))
    refused = client.post("/api/v1/events", json=future_event(),
                          headers={**without_scope, "Idempotency-Key": idem})
    assert refused.status_code == 403
    again = client.post("/api/v1/events", json=future_event(),
                        headers={**without_scope, "Idempotency-Key": idem})
    assert again.status_code == 403 and "Idempotent-Replayed" not in again.headers
    assert row_counts(db, ("events",)) == {"events": 0}


def test_every_post_of_the_three_api_documents_declares_the_header(
        registration_app, deliveries_app):
    from tests.integration.commitments_helpers import settings_for
    from services.commitments.app import create_app as create_commitments_app

    commitments = create_commitments_app(settings_for(registration_app[1])).test_client()
    posts = 0
    for client in (registration_app[0], deliveries_app[0], commitments):
        document = client.get("/api/v1/openapi.json").get_json()
        assert document["components"]["parameters"]["Idempotency-Key"]["in"] == "header"
        for path, operations in document["paths"].items():
            if "post" in operations:
                posts += 1
                post = operations["post"]
                assert {"$ref": "#/components/parameters/Idempotency-Key"} in post["parameters"], path
                assert {"400", "409", "422", "503"} <= set(post["responses"]), path
    assert posts >= 10
