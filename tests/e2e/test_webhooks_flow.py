"""Webhooks on the running stack: a real HTTP receiver started here gets each subscribed event
once, verified with the official `standardwebhooks` library; down for a while, it gets it
once when it returns; answering 410 it is disabled (and its contact told); after a rotation
both secrets verify; a private address is refused when WEBHOOK_ALLOW_PRIVATE is not set."""
import signal
import time

import pytest
import requests
from standardwebhooks import Webhook

from shared.devstack import answers, free_port, wait_until
from tests.e2e.harness import register, unique_addresses
from tests.e2e.test_commitments_flow import change, new_commitment, writer  # noqa: F401
from tests.integration.webhook_helpers import Receiver

SETTLE = 6  # > the retry delays below: a duplicate would have arrived by then
SCHEDULE = "1,2,2,2,2,2,2,2,2,2"  # WEBHOOK_RETRY_DELAYS here: short, and long enough to outlast an outage


@pytest.fixture(scope="module")
def integrator(stack):
    token = stack.cli("token", "create", "--service", "notifications", "--scopes",
                      "webhooks:write,registrations:read", "--name", "portal-ciudadano").strip()
    return {"Authorization": f"Bearer {token}"}


def _restart(stack, names):
    for name in names:
        stack.kill(name, signal.SIGTERM, group=True)
        stack.start(name)
    wait_until(lambda: answers(stack.url("notifications", "/readyz")), 30, what="notifications")


@pytest.fixture(scope="module")
def allowed(stack):
    """The notifications web app and worker with WEBHOOK_ALLOW_PRIVATE=true (the receiver is
    on 127.0.0.1) and a short retry schedule; as they were, after."""
    before = dict(stack.env)
    stack.env.update(WEBHOOK_ALLOW_PRIVATE="true", WEBHOOK_RETRY_DELAYS=SCHEDULE)
    _restart(stack, ("notifications", "worker"))
    yield stack
    stack.env.clear()
    stack.env.update(before)
    _restart(stack, ("notifications", "worker"))


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


def _api(stack, method, path, headers, **body):
    return getattr(requests, method)(stack.url("notifications", f"/api/v1/webhooks{path}"),
                                     json=body or None, headers=headers, timeout=10)


def subscribe(stack, headers, url, types):
    made = _api(stack, "post", "/endpoints", headers, url=url, event_types=types,
                contact_email="ti@portal.example", description="Portal ciudadano")
    assert made.status_code == 201, made.text
    return made.json()


def log(stack, headers, endpoint_id):
    answer = _api(stack, "get", f"/endpoints/{endpoint_id}/deliveries?per_page=100", headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_private_address_is_refused_at_registration(stack, integrator):
    """Without WEBHOOK_ALLOW_PRIVATE (the stack as it runs by default) loopback is refused."""
    for url in (f"http://127.0.0.1:{free_port()}/hooks", "https://localhost/hooks",
                "https://169.254.169.254/latest/meta-data"):
        refused = _api(stack, "post", "/endpoints", integrator, url=url,
                       event_types=["milestone.changed"], contact_email="ti@portal.example")
        assert refused.status_code == 422, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert "address" in refused.json()["detail"]


def test_each_subscribed_event_arrives_once_and_verifies(allowed, integrator, receiver, new_event,
                                                         writer):  # noqa: F811
    stack = allowed
    endpoint = subscribe(stack, integrator, receiver.url,
                         ["registration.confirmed", "milestone.changed"])
    event_id = new_event()
    addresses = unique_addresses(5, "hook")
    for address in addresses:
        assert register(stack, event_id, address).status_code == 202
    _commitment, milestone_id = new_commitment(stack, writer)
    change(stack, writer, milestone_id, status="met", progress_pct=100, date_met="2024-02-15",
           justification="Concluido")

    def ours():
        verified = [Webhook(endpoint["secret"]).verify(c.body, c.headers) for c in receiver.received]
        return ([e for e in verified if e["type"] == "registration.confirmed"
                 and e["data"]["registration"]["email"] in addresses],
                [e for e in verified if e["type"] == "milestone.changed"
                 and e["data"]["milestone"]["id"] == milestone_id])

    wait_until(lambda: len(ours()[0]) == 5 and len(ours()[1]) == 1, 60, what="6 webhooks")
    time.sleep(SETTLE)
    confirmations, changes = ours()
    assert sorted(e["data"]["registration"]["email"] for e in confirmations) == sorted(addresses)
    assert len(changes) == 1
    ids = [c.headers["webhook-id"] for c in receiver.received]
    assert len(ids) == len(set(ids)), "an event arrived twice"
    assert {e["id"] for e in confirmations + changes} <= set(ids)  # webhook-id is the CloudEvent id
    assert {entry["state"] for entry in log(stack, integrator, endpoint["id"])} == {"sent"}


def test_a_receiver_down_for_a_while_gets_the_event_once_when_it_returns(
        allowed, integrator, writer):  # noqa: F811
    stack, port = allowed, free_port()
    endpoint = subscribe(stack, integrator, f"http://127.0.0.1:{port}/hooks", ["milestone.changed"])
    _commitment, milestone_id = new_commitment(stack, writer)
    change(stack, writer, milestone_id, status="met", progress_pct=100, justification="Concluido")
    wait_until(lambda: [e for e in log(stack, integrator, endpoint["id"]) if e["attempts"] >= 3],
               60, what="three failed tries")
    (entry,) = log(stack, integrator, endpoint["id"])
    assert entry["state"] in ("awaiting_retry", "inflight") and entry["last_status_code"] is None
    receiver = Receiver().start(port)
    try:
        wait_until(lambda: receiver.received, 30, what="the event, once the receiver is back")
        time.sleep(SETTLE)
    finally:
        receiver.stop()
    (call,) = receiver.received
    assert Webhook(endpoint["secret"]).verify(call.body, call.headers)["id"] == entry["webhook_id"]
    (entry,) = log(stack, integrator, endpoint["id"])
    assert entry["state"] == "sent" and entry["attempts"] >= 4 and entry["last_status_code"] == 204


def test_a_receiver_answering_410_is_disabled_and_its_contact_told(allowed, integrator, receiver,
                                                                   smtp, writer):  # noqa: F811
    stack = allowed
    receiver.answers = [410]
    endpoint = subscribe(stack, integrator, receiver.url, ["milestone.changed"])
    _commitment, milestone_id = new_commitment(stack, writer)
    change(stack, writer, milestone_id, status="met", progress_pct=100, justification="Concluido")

    def shown():
        return _api(stack, "get", f"/endpoints/{endpoint['id']}", integrator).json()

    wait_until(lambda: not shown()["enabled"], 30, what="the endpoint disabled")
    assert "410" in shown()["disabled_reason"]
    wait_until(lambda: [m for m in smtp.inbox.to("ti@portal.example")
                        if f"endpoint de webhooks {endpoint['id']}" in m["Subject"]], 30,
               what="the email to the contact")
    change(stack, writer, milestone_id, status="partiallyMet", justification="Revisión")
    time.sleep(SETTLE)
    assert len(receiver.received) == 1  # nothing more to a disabled endpoint


def test_after_a_rotation_both_secrets_verify(allowed, integrator, receiver, writer):  # noqa: F811
    stack = allowed
    endpoint = subscribe(stack, integrator, receiver.url, ["milestone.changed"])
    rotated = _api(stack, "post", f"/endpoints/{endpoint['id']}/rotate-secret", integrator)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    _commitment, milestone_id = new_commitment(stack, writer)
    change(stack, writer, milestone_id, status="met", progress_pct=100, justification="Concluido")
    wait_until(lambda: receiver.received, 30, what="the event")
    (call,) = receiver.received
    assert len(call.headers["webhook-signature"].split()) == 2
    assert Webhook(new_secret).verify(call.body, call.headers) == \
        Webhook(endpoint["secret"]).verify(call.body, call.headers)
