"""Webhooks on SQLite and PostgreSQL, with a real HTTP receiver: endpoints through the API (the
secret once, scopes, refused addresses), a fact from the bus recorded once per endpoint and
POSTed signed as Standard Webhooks says, retries, 410, disabling, rotation, replay, erasure."""
import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError

from services.notifications.app import create_app
from services.notifications.models import ApiToken, Delivery, Outbox, WebhookEndpoint
from services.notifications.pipeline import tasks
from services.notifications.webhooks import recording, sealing, transport
from services.notifications import privacy
from shared import config, envelope
from shared.db import utcnow
from tests.integration.webhook_helpers import Receiver
from tests.unit.test_emails import fact

MILESTONE = {"type": "milestone.changed"}


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def hooks_api(empty_database, new_token, bearer):
    """api(allow_private=True) -> (client, db, headers(scopes), queued ids list)."""
    db = empty_database("notifications")

    def make(allow_private=True):
        # the workers' SECRET_KEY (hook_worker's): what the API seals, they open
        settings = config.load("notifications", database_url=db.url,
                               webhook_allow_private=allow_private)
        queued = []
        app = create_app(settings, db=db, enqueue=queued.extend)
        headers = lambda scopes=("webhooks:write",), name="portal": bearer(  # noqa: E731
            new_token(db, scopes, model=ApiToken, name=name))
        return app.test_client(), db, headers, queued

    return make


@pytest.fixture
def hook_worker(notifications, monkeypatch):
    """The worker, allowed to call 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE), retrying after 1 s, 2 s."""
    settings = replace(notifications.settings, webhook_allow_private=True,
                       webhook_retry_delays=(1.0, 2.0))
    made = replace(notifications, settings=settings, webhooks=transport.adapter(True))
    monkeypatch.setattr(tasks, "collaborators", made)
    return made


def register(client, headers, url, types=("milestone.changed",), **extra):
    return client.post("/api/v1/webhooks/endpoints", headers=headers, json={
        "url": url, "event_types": list(types), "contact_email": "ti@portal.example", **extra})


def milestone_fact():
    from tests.unit.test_alert_emails import alert

    data = alert()
    data.pop("subscription")
    return envelope.make("milestone.changed", "/abierto/commitments", "commitments/1/milestones/9",
                         data)


def registration_fact(email="ana@example.org"):
    data = fact()
    data["registration"]["email"] = email
    return envelope.make("registration.confirmed", "/abierto/registration",
                         "events/1/registrations/7", data)


def endpoint_row(db, url, types=("milestone.changed",), secret=None, keys=None):
    """An endpoint stored as the API stores one (its secret sealed); (its id, the secret)."""
    secret = secret or "whsec_" + base64.b64encode(b"k" * 32).decode()
    keys = keys or config.load("notifications").keys
    with db.transaction() as session:
        row = WebhookEndpoint(url=url, event_types=list(types), contact_email="ti@portal.example",
                              secret=sealing.seal(keys, secret), enabled=True, owner_token_id=1,
                              created_by="portal", created_at=utcnow())
        session.add(row)
        session.flush()
        return row.id, secret


def delivery(db, delivery_id):
    with db.transaction() as session:
        row = session.get(Delivery, delivery_id)
        session.expunge(row)
        return row


def test_an_endpoint_is_registered_with_its_secret_shown_once(hooks_api):
    client, _db, headers, _ = hooks_api()
    portal = headers()
    made = register(client, portal, "https://portal.example/hooks", description="Portal")
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) >= 24
    assert made.headers["Cache-Control"].startswith("no-store") or "no-store" in made.headers["Cache-Control"]
    shown = client.get(f"/api/v1/webhooks/endpoints/{body['id']}", headers=portal).get_json()
    listed = client.get("/api/v1/webhooks/endpoints", headers=portal).get_json()
    assert "secret" not in shown and shown["event_types"] == ["milestone.changed"]
    assert [item["id"] for item in listed["items"]] == [body["id"]] and "secret" not in listed["items"][0]
    # another integrator's token does not see it
    other = headers(name="otro")
    assert client.get(f"/api/v1/webhooks/endpoints/{body['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/webhooks/endpoints", headers=other).get_json()["total"] == 0
    # rotating shows a new secret, once
    rotated = client.post(f"/api/v1/webhooks/endpoints/{body['id']}/rotate-secret", headers=portal)
    assert rotated.status_code == 200 and rotated.get_json()["secret"] != body["secret"]
    assert rotated.get_json()["previous_secret_until"] is not None


def test_a_change_names_only_what_changes(hooks_api):
    """PATCH with the description alone keeps the types (they are required only to register)."""
    client, _db, headers, _ = hooks_api()
    portal = headers()
    made = register(client, portal, "https://portal.example/hooks").get_json()
    changed = client.patch(f"/api/v1/webhooks/endpoints/{made['id']}", headers=portal,
                           json={"description": "Portal ciudadano"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert (changed.get_json()["description"], changed.get_json()["event_types"]) == (
        "Portal ciudadano", ["milestone.changed"])
    document = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "event_types" in document["EndpointRequest"]["required"]
    assert "event_types" not in document["EndpointChange"].get("required", [])


def test_types_must_exist_and_personal_ones_need_registrations_read(hooks_api, row_counts):
    client, db, headers, _ = hooks_api()
    unknown = register(client, headers(), "https://portal.example/h", types=["registration.bogus"])
    assert unknown.status_code == 422 and unknown.mimetype == "application/problem+json"
    assert "registration.bogus" in unknown.get_json()["detail"]
    refused = register(client, headers(), "https://portal.example/h",
                       types=["registration.confirmed", "milestone.changed"])
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "registrations:read" in refused.get_json()["detail"]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    allowed = register(client, headers(("webhooks:write", "registrations:read")),
                       "https://portal.example/h", types=["registration.confirmed", "arco.requested"])
    assert allowed.status_code == 201
    # a token without webhooks:write may not even list
    assert client.get("/api/v1/webhooks/endpoints",
                      headers=headers(("registrations:read",))).status_code == 403


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/h", "https://localhost/h",
                                 "https://10.1.2.3/h", "https://169.254.169.254/latest",
                                 "https://[::1]/h", "https://[fe80::1]/h", "https://0.0.0.0/h",
                                 "https://224.0.0.1/h", "ftp://portal.example/h",
                                 "https://user:pw@portal.example/h", "not a url"])
def test_private_loopback_link_local_and_odd_urls_are_refused(hooks_api, url):
    client, db, headers, _ = hooks_api(allow_private=False)
    refused = register(client, headers(), url)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert refused.mimetype == "application/problem+json" and "url" in refused.get_json()["detail"]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_a_fact_is_recorded_once_per_endpoint_and_posted_signed(hook_worker, receiver):
    db = hook_worker.db
    wanted, secret = endpoint_row(db, receiver.url)
    endpoint_row(db, receiver.url, types=["commitment.updated"])  # not this type
    fact_ = milestone_fact()
    ids = recording.record_batch(db, [fact_, fact_], utcnow(), timedelta(seconds=60))
    assert len(ids) == 1
    assert recording.record_batch(db, [fact_], utcnow(), timedelta(seconds=60)) == ids  # redelivered
    assert tasks.send_deliveries(ids) == ["sent"]
    assert tasks.send_deliveries(ids) == []
    (call,) = receiver.received
    assert call.headers["webhook-id"] == fact_["id"]
    assert call.headers["Content-Type"] == "application/json"
    assert Webhook(secret).verify(call.body, call.headers) == json.loads(call.body) == fact_
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(call.body, call.headers)
    row = delivery(db, ids[0])
    assert (row.state, row.attempts, row.last_status_code, row.endpoint_id) == ("sent", 1, 204, wanted)


def test_a_failing_receiver_is_retried_on_schedule_with_the_same_webhook_id(hook_worker, receiver):
    db = hook_worker.db
    endpoint_id, secret = endpoint_row(db, receiver.url)
    receiver.answers = [500, 503]
    (delivery_id,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    before = utcnow()
    assert tasks.send_deliveries([delivery_id]) == ["awaiting_retry"]
    row = delivery(db, delivery_id)
    assert row.last_status_code == 500 and row.last_error.startswith("HTTP 500")
    assert timedelta(seconds=0.9) < row.due_at - before < timedelta(seconds=2)  # delays[0] = 1 s
    assert tasks.send_deliveries([delivery_id]) == ["awaiting_retry"]
    assert tasks.send_deliveries([delivery_id]) == ["sent"]
    ids = {call.headers["webhook-id"] for call in receiver.received}
    stamps = [call.headers["webhook-timestamp"] for call in receiver.received]
    assert len(receiver.received) == 3 and len(ids) == 1 and all(stamps)
    for call in receiver.received:
        Webhook(secret).verify(call.body, call.headers)
    with db.transaction() as session:
        assert session.get(WebhookEndpoint, endpoint_id).failing_since is None  # a success clears it


def test_no_answer_at_all_is_retried_and_the_schedule_ends_in_failed(hook_worker):
    db = hook_worker.db
    endpoint_row(db, "http://127.0.0.1:9/nobody")  # discard port: connection refused
    (delivery_id,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    assert [tasks.send_deliveries([delivery_id]) for _ in range(3)] == [
        ["awaiting_retry"], ["awaiting_retry"], ["failed"]]  # two delays, then it gives up
    row = delivery(db, delivery_id)
    assert row.last_status_code is None and "ConnectionError" in row.last_error


def test_410_disables_the_endpoint_at_once_and_emails_its_contact(hook_worker, receiver, smtp):
    inbox, _ = smtp
    db = hook_worker.db
    endpoint_id, _ = endpoint_row(db, receiver.url)
    receiver.answers = [410]
    first, second = (recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))[0]
                     for _ in range(2))
    queued = []
    tasks.enqueue([first], send=queued.append)
    assert tasks.send_deliveries([first]) == ["failed"]
    with db.transaction() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert not endpoint.enabled and "410" in endpoint.disabled_reason
        notice = session.scalar(select(Delivery).where(Delivery.kind == "webhook_disabled"))
        facts = [row.cloudevent_type for row in session.scalars(select(Outbox))]
    assert delivery(db, second).state == "failed"  # the rest is not sent to a gone endpoint
    assert facts == ["webhook.endpoint_disabled"]
    assert tasks.send_deliveries([notice.id]) == ["sent"]
    (message,) = inbox.to("ti@portal.example")
    assert "webhooks" in message["Subject"] and "410 Gone" in message.get_body(("plain",)).get_content()
    # a new fact records nothing for a disabled endpoint
    assert recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60)) == []
    assert len(receiver.received) == 1


def test_failing_for_webhook_disable_after_disables_the_endpoint(hook_worker, receiver):
    db = hook_worker.db
    endpoint_id, _ = endpoint_row(db, receiver.url)
    receiver.answers = [500, 500]
    with db.transaction() as session:
        session.get(WebhookEndpoint, endpoint_id).failing_since = utcnow() - timedelta(days=4)
    (delivery_id,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    assert tasks.send_deliveries([delivery_id]) == ["awaiting_retry"]  # four days: not yet
    with db.transaction() as session:
        session.get(WebhookEndpoint, endpoint_id).failing_since = utcnow() - timedelta(days=5)
    assert tasks.send_deliveries([delivery_id]) == ["failed"]
    with db.transaction() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert not endpoint.enabled and endpoint.disabled_reason.startswith("no success since")
        assert session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.kind == "webhook_disabled", Delivery.recipient == "ti@portal.example")) == 1


def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(hook_worker, receiver,
                                                                       hooks_api):
    client, db, headers, _ = hooks_api()
    portal = headers()
    made = register(client, portal, receiver.url).get_json()
    rotated = client.post(f"/api/v1/webhooks/endpoints/{made['id']}/rotate-secret",
                          headers=portal).get_json()
    (first,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    tasks.send_deliveries([first])
    call = receiver.received[-1]
    assert len(call.headers["webhook-signature"].split(" ")) == 2
    Webhook(made["secret"]).verify(call.body, call.headers)  # a receiver not yet switched
    Webhook(rotated["secret"]).verify(call.body, call.headers)  # one that switched
    with db.transaction() as session:
        session.get(WebhookEndpoint, made["id"]).previous_secret_until = utcnow()
    (second,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    tasks.send_deliveries([second])
    call = receiver.received[-1]
    assert len(call.headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated["secret"]).verify(call.body, call.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(made["secret"]).verify(call.body, call.headers)


def test_the_log_shows_each_call_and_a_replay_sends_it_again_with_its_id(hook_worker, receiver,
                                                                        hooks_api):
    client, db, headers, queued = hooks_api()
    portal = headers()
    made = register(client, portal, receiver.url).get_json()
    receiver.answers = [500]
    (delivery_id,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    tasks.send_deliveries([delivery_id])
    log = client.get(f"/api/v1/webhooks/endpoints/{made['id']}/deliveries", headers=portal).get_json()
    (entry,) = log["items"]
    assert (entry["event_type"], entry["state"], entry["attempts"], entry["last_status_code"]) == (
        "milestone.changed", "awaiting_retry", 1, 500)
    replayed = client.post(f"/api/v1/webhooks/endpoints/{made['id']}/deliveries/{delivery_id}/replay",
                           headers=portal)
    assert replayed.status_code == 202 and replayed.get_json()["state"] == "queued"
    assert queued == [delivery_id]
    assert tasks.send_deliveries(queued) == ["sent"]
    again = client.post(f"/api/v1/webhooks/endpoints/{made['id']}/deliveries/{delivery_id}/replay",
                        headers=portal)
    assert again.status_code == 202 and tasks.send_deliveries([delivery_id]) == ["sent"]
    assert [c.headers["webhook-id"] for c in receiver.received] == [entry["webhook_id"]] * 3
    other = headers(name="otro")
    assert client.post(f"/api/v1/webhooks/endpoints/{made['id']}/deliveries/{delivery_id}/replay",
                       headers=other).status_code == 404


def test_the_send_time_check_refuses_an_address_that_became_private(notifications, monkeypatch,
                                                                   receiver):
    """Registered while allowed (or before DNS changed); at send time the socket's peer is
    loopback, so nothing is sent."""
    monkeypatch.setattr(tasks, "collaborators", notifications)  # WEBHOOK_ALLOW_PRIVATE unset
    db = notifications.db
    endpoint_row(db, receiver.url)
    (delivery_id,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    assert tasks.send_deliveries([delivery_id]) == ["awaiting_retry"]
    assert receiver.received == []
    assert "loopback" in delivery(db, delivery_id).last_error


def test_erasure_withdraws_and_empties_the_payloads_naming_the_person(hook_worker, receiver, bus):
    db = hook_worker.db
    endpoint_row(db, receiver.url, types=["registration.confirmed"])
    ana, bea = registration_fact("Ana@Example.org"), registration_fact("bea@example.org")
    sent, pending, other = (recording.record_batch(db, [f], utcnow(), timedelta(seconds=60))[0]
                            for f in (registration_fact("ana@example.org"), ana, bea))
    tasks.send_deliveries([sent])
    privacy.erase(db, bus, hook_worker.settings.keys, "ana@example.org", utcnow())
    assert (delivery(db, sent).state, delivery(db, sent).context) == ("sent", {})
    assert (delivery(db, pending).state, delivery(db, pending).context) == ("withdrawn", {})
    assert delivery(db, other).state == "queued" and delivery(db, other).context == bea
    assert tasks.send_deliveries([pending]) == []
    # a fact about her still on the bus reaches no integrator; a later one does
    assert recording.record_batch(db, [registration_fact("ana@example.org") | {
        "time": (utcnow() - timedelta(minutes=1)).isoformat()}], utcnow(), timedelta(seconds=60)) == []


def test_the_export_names_the_systems_a_person_s_data_went_to_and_erasure_leaves_no_trace(
        hook_worker, receiver, bus, hooks_api):
    """ARCO: the calls that carried her data are in her export, with the system and site they
    went to (not the URL's path or query: the integrator's own credentials may be there);
    after erasure no payload, answer, history or key in them leads back to her."""
    from services.notifications import person
    from tests.integration.test_erasure_leaves_no_trace import everything_in

    client, db, headers, _ = hooks_api()
    portal = headers(("webhooks:write", "registrations:read"), name="Portal ciudadano")
    made = register(client, portal, receiver.url + "?token=s3cr3t",
                    types=["registration.confirmed"], description="Portal de trámites").get_json()
    receiver.answers = [422]
    receiver.error_body = b'{"refused": {"email": "ana@example.org"}}'
    fact_ = registration_fact("ana@example.org")
    (call,) = recording.record_batch(db, [fact_], utcnow(), timedelta(seconds=60))
    assert tasks.send_deliveries([call]) == ["awaiting_retry"]
    assert client.post(f"/api/v1/webhooks/endpoints/{made['id']}/deliveries/{call}/replay",
                       headers=portal).status_code == 202
    assert tasks.send_deliveries([call]) == ["sent"]
    assert "ana@example.org" in delivery(db, call).history[0]["last_error"]

    held = person.export(db, hook_worker.settings.keys, "Ana@Example.org")
    (exported,) = held["webhook_calls"]
    assert exported["event_type"] == "registration.confirmed" and exported["status"] == "sent"
    assert exported["endpoint"] == {"id": made["id"], "system": "Portal ciudadano",
                                    "description": "Portal de trámites",
                                    "site": receiver.url.split("/hooks")[0]}
    assert exported["content"] == fact_ and "s3cr3t" not in json.dumps(held)
    assert person.export(db, hook_worker.settings.keys, "bea@example.org")["webhook_calls"] == []

    privacy.erase(db, bus, hook_worker.settings.keys, "ana@example.org", utcnow())
    assert [(table, value) for table, value in everything_in(db) if "ana@example.org" in value] == []
    assert person.export(db, hook_worker.settings.keys, "ana@example.org")["webhook_calls"] == []
    row = delivery(db, call)
    assert (row.state, row.last_status_code, row.cloudevent_type) == ("sent", 204,
                                                                      "registration.confirmed")

