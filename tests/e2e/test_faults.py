"""Faults lose nothing and duplicate nothing: each test asserts what every attendee received."""
import random
import signal
import time

import requests

from services.notifications.celery_app import app as celery
from shared.devstack import wait_until
from tests.e2e.harness import register, unique_addresses

POOL = celery.conf.worker_concurrency  # at most one repeat per pool process (a kill's bound)
SETTLE = 8  # > DELIVERY_STALE_AFTER: long enough for a duplicate to show up if one were coming


def _exactly_one_each(smtp, addresses):
    counts = {address: len(smtp.inbox.to(address)) for address in addresses}
    assert {n for n in counts.values()} == {1}, {a: n for a, n in counts.items() if n != 1}


def _deliveries(stack, operator, **query):
    response = requests.get(stack.url("notifications", "/api/v1/deliveries"), params=query,
                            headers=operator, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_redis_down_registrations_succeed_and_every_email_goes_out_once(
        stack, smtp, redis_server, new_event):
    """Redis stopped during 50 registrations: all get 202, and after Redis returns, one email each."""
    event_id = new_event()
    addresses = unique_addresses(50, "redis")
    redis_server.stop()
    try:
        statuses = [register(stack, event_id, address).status_code for address in addresses]
        ready = requests.get(stack.url("registration", "/readyz"), timeout=10)
        time.sleep(1)
        assert statuses == [202] * 50
        assert ready.status_code == 503 and ready.json()["checks"]["redis"] != "ok"
        assert not any(smtp.inbox.to(address) for address in addresses)
    finally:
        redis_server.start()
    smtp.inbox.wait_for(addresses, timeout=90)
    time.sleep(SETTLE)
    _exactly_one_each(smtp, addresses)


def _kill_worker_mid_batch(stack, smtp, operator, new_event, group):
    """Queue 200 confirmations, start the worker, SIGKILL it at a random moment mid-batch,
    restart it. The batch is queued first: the pipeline sends as fast as people register."""
    event_id = new_event()
    addresses = unique_addresses(200, "kill")
    stack.kill("worker", signal.SIGTERM, group=True)
    for address in addresses:
        assert register(stack, event_id, address).status_code == 202
    wait_until(lambda: _deliveries(stack, operator, recipient=addresses[-1]), 30, interval=0.1,
               what="the batch to be queued")  # handled in order: the last one means all
    stack.start("worker")
    wait_until(lambda: smtp.inbox.count(addresses) >= 10, 60, interval=0.02,
               what="the batch to be under way")
    time.sleep(random.uniform(0.0, 0.1))  # not in step with any one delivery
    stack.kill("worker", signal.SIGKILL, group=group)
    delivered_at_kill = smtp.inbox.count(addresses)
    stack.start("worker")
    assert delivered_at_kill < 200, "the kill came after the batch; nothing was tested"
    smtp.inbox.wait_for(addresses, timeout=120)
    time.sleep(SETTLE)
    return {address: len(smtp.inbox.to(address)) for address in addresses}


def test_worker_killed_mid_batch_loses_nothing_and_repeats_only_what_smtp_had_taken(
        stack, smtp, operator, new_event):
    """SIGKILL to the Celery worker mid-batch of 200 (its pool children die with it), restart.

    Every attendee gets their confirmation. SMTP has no idempotency key, so a message the
    server accepted in the instant before the kill, not yet recorded as sent, goes out
    again: at most one per pool process, and its delivery says so.
    """
    received = _kill_worker_mid_batch(stack, smtp, operator, new_event, group=True)
    assert min(received.values()) == 1, "an attendee got nothing"
    repeated = [a for a, n in received.items() if n > 1]
    assert len(repeated) <= POOL and all(received[a] == 2 for a in repeated), repeated
    for address in repeated:
        (delivery,) = _deliveries(stack, operator, recipient=address)
        assert delivery["attempts"] == 2 and "worker lost" in delivery["last_error"]


def test_smtp_down_retries_with_backoff_then_delivers(stack, smtp, operator, new_event):
    """SMTP away: deliveries wait and retry (visible as pending), then arrive once it is back."""
    event_id = new_event()
    addresses = unique_addresses(3, "smtpdown")
    smtp.stop()
    try:
        for address in addresses:
            assert register(stack, event_id, address).status_code == 202
        retrying = wait_until(lambda: all(
            any(d["attempts"] >= 2 and d["state"] == "awaiting_retry" and d["last_error"]
                for d in _deliveries(stack, operator, recipient=a)) for a in addresses),
            30, interval=0.2, what="deliveries to be retrying")
        assert retrying
    finally:
        smtp.start()
    smtp.inbox.wait_for(addresses, timeout=60)
    time.sleep(2)
    _exactly_one_each(smtp, addresses)
    for address in addresses:
        (delivery,) = _deliveries(stack, operator, recipient=address)
        assert delivery["status"] == "sent" and delivery["attempts"] >= 3


def test_refused_recipients_end_as_failed_deliveries(stack, smtp, operator, new_event):
    """A 5xx fails at once; a 4xx that never clears fails after its retries; both visible."""
    event_id = new_event()
    (refused,) = unique_addresses(1, "refused")
    (deferred,) = unique_addresses(1, "deferred")
    (fine,) = unique_addresses(1, "fine")
    smtp.inbox.refused.update({refused: "550 5.1.1 Mailbox unavailable",
                               deferred: "451 4.3.0 Try again later"})
    try:
        for address in (refused, deferred, fine):
            assert register(stack, event_id, address).status_code == 202
        smtp.inbox.wait_for([fine])
        wait_until(lambda: _deliveries(stack, operator, recipient=refused, status="failed")
                   and _deliveries(stack, operator, recipient=deferred, status="failed"),
                   40, interval=0.3, what="both deliveries to fail")
    finally:
        smtp.inbox.refused.clear()
    (hard,) = _deliveries(stack, operator, recipient=refused)
    (soft,) = _deliveries(stack, operator, recipient=deferred)
    assert hard["attempts"] == 1 and "550" in hard["last_error"]
    assert soft["attempts"] == 4 and "451" in soft["last_error"]
    assert hard["kind"] == "registration_confirmed" and hard["cloudevent_id"]
    assert not smtp.inbox.to(refused) and not smtp.inbox.to(deferred)
    assert _deliveries(stack, operator, status="failed", recipient=fine) == []


def test_bad_input_through_gunicorn_is_a_problem_not_a_crash(stack, new_event):
    """Malformed JSON and a 1 MB body get 4xx problem+json from the running server."""
    event_id = new_event()
    url = stack.url("registration", f"/api/v1/events/{event_id}/registrations")
    broken = requests.post(url, data="{not json", headers={"Content-Type": "application/json"}, timeout=10)
    huge = requests.post(url, data="x" * 1_000_000, headers={"Content-Type": "application/json"}, timeout=10)
    for response, status in ((broken, 400), (huge, 413)):
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["detail"]
