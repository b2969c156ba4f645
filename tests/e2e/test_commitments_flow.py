"""Follow a commitment and be told when a milestone moves: opt-in, alerts, one-click leave."""
import random
import signal
import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, insert, select

from services.notifications.celery_app import app as celery
from services.notifications.models import Subscription
from shared.db import utcnow
from shared.signing import Keys
from shared.devstack import wait_until
from tests.e2e.harness import register, unique_addresses

POOL = celery.conf.worker_concurrency  # at most one repeat per pool process (a kill's bound)

SETTLE = 8  # > DELIVERY_STALE_AFTER: time for a stray email to show up, if one were coming


@pytest.fixture(scope="session")
def writer(stack):
    """The transparency office's token for commitments (commitments:write)."""
    token = stack.cli("token", "create", "--service", "commitments",
                      "--scopes", "commitments:write", "--name", "transparencia").strip()
    return {"Authorization": f"Bearer {token}"}


def _post(stack, path, body, headers, method="post"):
    response = getattr(requests, method)(stack.url("commitments", path), json=body,
                                         headers=headers, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def new_commitment(stack, writer):
    """A plan with one commitment and one milestone, through the API; (commitment, milestone) ids."""
    plan = _post(stack, "/api/v1/action-plans", {
        "member": f"Municipio de prueba {uuid.uuid4().hex[:6]}", "ordinal": 1,
        "title": {"es": "Plan de Acción", "en": "Action Plan"}}, writer)
    commitment = _post(stack, "/api/v1/commitments", {
        "action_plan_id": plan["id"], "number": 3,
        "title": {"es": "Grupo de trabajo para el desarrollo rural",
                  "en": "Working group for rural development"},
        "ogp_values": ["civic_participation"]}, writer)
    milestone = _post(stack, f"/api/v1/commitments/{commitment['id']}/milestones", {
        "title": {"es": "Instalación del grupo", "en": "Group set up"},
        "planned_start": "2023-10-01", "planned_end": "2024-01-31",
        "status": "in_progress", "progress_pct": 40}, writer)
    return commitment["id"], milestone["id"]


def change(stack, writer, milestone_id, **fields):
    return _post(stack, f"/api/v1/milestones/{milestone_id}", fields, writer, method="patch")


def follow(stack, address, commitment_id, language="es"):
    response = requests.post(stack.url("notifications", "/api/v1/subscriptions"), timeout=10,
                             json={"email": address, "topic": f"commitment:{commitment_id}",
                                   "language": language})
    assert response.status_code == 202, response.text


def _link(message, marker):
    text = message.get_body(("plain",)).get_content()
    return next(w for w in text.split() if marker in w).strip("<>().,")


def test_follow_confirm_alert_and_one_click_unsubscribe(stack, smtp, writer):
    """Only confirmed followers get one alert per non-minor change; one click ends it."""
    commitment_id, milestone_id = new_commitment(stack, writer)
    follower, undecided = unique_addresses(2, "follow")
    follow(stack, follower, commitment_id)
    follow(stack, undecided, commitment_id, "en")
    opt_in = smtp.inbox.wait_for([follower, undecided])[follower][0]
    confirm_url = _link(opt_in, "/subscriptions/confirm/")
    assert requests.get(confirm_url, timeout=10).status_code == 200  # a GET only shows
    assert requests.post(confirm_url, timeout=10).status_code == 200

    change(stack, writer, milestone_id, status="met", progress_pct=100, date_met="2024-02-15",
           justification="Acta de instalación firmada",
           evidence=[{"title": "Acta", "url": "https://example.org/acta.pdf"}])
    wait_until(lambda: len(smtp.inbox.to(follower)) == 2, 30, what="the alert")
    alert = smtp.inbox.to(follower)[1]
    text = alert.get_body(("plain",)).get_content()
    assert "Acta de instalación firmada" in text and "https://example.org/acta.pdf" in text
    history = stack.url("commitments", f"/commitments/{commitment_id}?lang=es#s-history")
    assert history in text  # the history as a page: issue 19 moved people's links off the API
    assert requests.get(history, timeout=10).headers["Content-Type"].startswith("text/html")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    change(stack, writer, milestone_id, planned_end="2024-02-28", justification="Ajuste", minor=True)
    unsubscribe_url = str(alert["List-Unsubscribe"]).strip().strip("<>")
    left = requests.post(unsubscribe_url, data="List-Unsubscribe=One-Click", timeout=10,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert left.status_code == 200
    change(stack, writer, milestone_id, status="partiallyMet", justification="Revisión")
    time.sleep(SETTLE)
    assert len(smtp.inbox.to(follower)) == 2  # nothing for the minor change, nothing after leaving
    assert len(smtp.inbox.to(undecided)) == 1  # unconfirmed: the opt-in only


def test_event_confirmation_shows_its_related_commitments(stack, smtp, writer, new_event):
    """A panel that reports on a commitment shows its current status in the confirmation."""
    commitment_id, _ = new_commitment(stack, writer)
    event_id = new_event(related_commitments=[commitment_id])
    (address,) = unique_addresses(1, "related")
    assert register(stack, event_id, address).status_code == 202
    text = smtp.inbox.wait_for([address])[address][0].get_body(("plain",)).get_content()
    assert "Compromisos relacionados" in text and "Grupo de trabajo para el desarrollo rural" in text


def test_thousand_followers_worker_killed_mid_fan_out(stack, smtp, writer, operator):
    """1,000 confirmed followers, one change, SIGKILL to the worker mid fan-out, a restart:
    everyone gets the alert; only what SMTP took in the instant of the kill can repeat."""
    commitment_id, milestone_id = new_commitment(stack, writer)
    followers = unique_addresses(1000, "crowd")
    engine = create_engine(stack.env["NOTIFICATIONS_DATABASE_URL"])
    with engine.begin() as connection:  # setup, not under test: 1,000 already confirmed followers
        connection.execute(insert(Subscription), [
            {"email": a, "email_key": a, "topic": f"commitment:{commitment_id}", "language": "es",
             "status": "confirmed", "created_at": utcnow(), "confirmed_at": utcnow()}
            for a in followers])
    engine.dispose()
    change(stack, writer, milestone_id, status="met", progress_pct=100, justification="Concluido")
    wait_until(lambda: smtp.inbox.count(followers) >= 150, 120, interval=0.05,
               what="the fan-out to be under way")
    time.sleep(random.uniform(0.0, 0.3))
    stack.kill("worker", signal.SIGKILL, group=True)
    at_kill = smtp.inbox.count(followers)
    stack.start("worker")
    assert at_kill < 1000, "the kill came after the fan-out; nothing was tested"
    smtp.inbox.wait_for(followers, timeout=240)
    time.sleep(SETTLE)
    received = {a: len(smtp.inbox.to(a)) for a in followers}
    repeated = [a for a, n in received.items() if n > 1]
    assert min(received.values()) == 1
    assert len(repeated) <= POOL and all(received[a] == 2 for a in repeated), repeated


def test_confirmation_goes_out_without_the_block_when_commitments_is_down(
        stack, smtp, writer, new_event):
    """With the commitments service stopped, the confirmation still arrives, minus that block."""
    commitment_id, _ = new_commitment(stack, writer)
    event_id = new_event(related_commitments=[commitment_id])
    (address,) = unique_addresses(1, "nocommit")
    stack.kill("commitments", signal.SIGTERM, group=True)
    try:
        assert register(stack, event_id, address).status_code == 202
        text = smtp.inbox.wait_for([address])[address][0].get_body(("plain",)).get_content()
    finally:
        stack.start("commitments")
        wait_until(lambda: _listening(stack), 30, what="commitments back")
    assert "Tu registro está confirmado" in text and "Compromisos relacionados" not in text


def _listening(stack):
    try:
        return requests.get(stack.url("commitments", "/healthz"), timeout=1).ok
    except requests.RequestException:
        return False


def test_an_alert_queued_before_unsubscribing_is_not_sent(stack, smtp, writer, operator):
    """Unsubscribing wins over an alert still waiting for a worker: it is withdrawn, not sent."""
    commitment_id, milestone_id = new_commitment(stack, writer)
    (address,) = unique_addresses(1, "leaving")
    follow(stack, address, commitment_id)
    confirm_url = _link(smtp.inbox.wait_for([address])[address][0], "/subscriptions/confirm/")
    assert requests.post(confirm_url, timeout=10).status_code == 200
    stack.kill("worker", signal.SIGTERM, group=True)
    try:
        change(stack, writer, milestone_id, status="met", justification="Concluido")
        wait_until(lambda: _deliveries(stack, operator, address, "milestone_alert"), 30,
                   what="the alert to be queued")
        unsubscribe_url = alert_unsubscribe_url(stack, address, commitment_id)
        assert requests.post(unsubscribe_url, data="List-Unsubscribe=One-Click", timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}).ok
    finally:
        stack.start("worker")
    wait_until(lambda: _deliveries(stack, operator, address, "milestone_alert")[0]["status"]
               == "withdrawn", 30, what="the alert to be withdrawn")
    time.sleep(2)
    assert len(smtp.inbox.to(address)) == 1  # the opt-in only


def _deliveries(stack, operator, recipient, kind):
    return requests.get(stack.url("notifications", "/api/v1/deliveries"), headers=operator,
                        params={"recipient": recipient, "kind": kind}, timeout=10).json()["items"]


def alert_unsubscribe_url(stack, address, commitment_id):
    """The follower's unsubscribe link, as the alert would carry it (signed by the service)."""
    from services.notifications.mail.links import Links
    from services.notifications.models import Subscription
    engine = create_engine(stack.env["NOTIFICATIONS_DATABASE_URL"])
    with engine.connect() as connection:
        subscription_id = connection.execute(select(Subscription.id).where(
            Subscription.email_key == address, Subscription.topic == f"commitment:{commitment_id}")
        ).scalar_one()
    engine.dispose()
    return Links(stack.url("notifications"), Keys(stack.env["SECRET_KEY"])).unsubscribe(subscription_id)
