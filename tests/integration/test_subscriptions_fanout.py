"""Milestone alerts reach confirmed followers only, once each, in bounded pages and task chunks."""
import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from services.notifications.mail import compose
from services.notifications.mail.links import UNSUBSCRIBE, Links
from services.notifications.models import Delivery, Subscription
from services.notifications.pipeline import handlers, tasks
from shared import envelope
from shared.commitments_client import (CommitmentsClient, CommitmentsUnavailable,
                                       UnknownCommitment)
from shared.signing import Keys
from tests.integration.test_subscriptions_api import (  # noqa: F401 - fixtures
    closed_port_url, commitments_api)
from tests.unit.test_tokens_and_links import fact_data

NOW = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=2)
LINKS = Links("http://notifications.test", Keys("fan-out-secret"))


def milestone_changed(commitment_id=3, minor=False):
    """A valid `milestone.changed` envelope, as the commitments service publishes it."""
    url = f"http://commitments.test/api/v1/commitments/{commitment_id}"
    data = {
        "commitment": {"id": commitment_id, "ogp_id": "MXCHH0003", "number": commitment_id,
                       "title": {"es": "Desarrollo rural", "en": "Rural development"},
                       "status": "in_progress", "progress_pct": 50,
                       "url": url, "history_url": f"{url}/history"},
        "milestone": {"id": 9, "title": {"es": "Instalar", "en": "Set up"}},
        "before": {"status": "scheduled", "progress_pct": 0, "planned_end": "2031-06-30",
                   "date_met": None},
        "after": {"status": "met", "progress_pct": 100, "planned_end": "2031-06-30",
                  "date_met": "2031-05-01"},
        "justification": "Se instaló el grupo.",
        "evidence": [{"title": "Acta", "url": "https://example.org/acta"}],
        "minor": minor,
        "actor": "coordinacion",
    }
    return envelope.make("milestone.changed", "/abierto/commitments",
                         f"commitments/{commitment_id}/milestones/9", data, now=NOW)


@pytest.fixture
def db(empty_database):
    return empty_database("notifications")


def follower(db, email, status="confirmed", topic="commitment:3", language="es"):
    with db.transaction() as session:
        row = Subscription(email=email, email_key=email.lower(), topic=topic, language=language,
                           status=status, created_at=NOW)
        session.add(row)
        session.flush()
        return row.id


def handle(db, event):
    return handlers.handle(db, event, NOW, LEASE, "abierto.test", LINKS)


def alerts(db):
    with db.transaction() as session:
        return session.scalars(select(Delivery).order_by(Delivery.id)).all()


def test_only_confirmed_followers_of_that_commitment_are_alerted(db):
    ana = follower(db, "Ana@example.org", language="en")
    bea = follower(db, "bea@example.org")
    follower(db, "carla@example.org", status="pending")
    follower(db, "dora@example.org", status="cancelled")
    follower(db, "elena@example.org", topic="commitment:4")
    event = milestone_changed()

    to_send = handle(db, event)

    rows = alerts(db)
    assert to_send == [row.id for row in rows]
    assert [(r.recipient, r.kind, r.state) for r in rows] == [
        ("Ana@example.org", "milestone_alert", "queued"),
        ("bea@example.org", "milestone_alert", "queued")]
    assert {r.cloudevent_id for r in rows} == {event["id"]}
    first = rows[0].context
    assert {k: v for k, v in first.items() if k != "subscription"} == event["data"]
    subscription = first["subscription"]
    assert {k: v for k, v in subscription.items() if k != "unsubscribe_url"} == {
        "id": ana, "email": "Ana@example.org", "language": "en"}
    token = subscription["unsubscribe_url"].removeprefix(
        "http://notifications.test/subscriptions/unsubscribe/")
    assert LINKS.subscription_id(UNSUBSCRIBE, token) == ana
    assert rows[1].context["subscription"]["id"] == bea


def test_a_minor_change_alerts_nobody(db):
    follower(db, "ana@example.org")
    assert handle(db, milestone_changed(minor=True)) == []
    assert alerts(db) == []


def test_handling_the_same_event_twice_makes_no_second_delivery(db):
    for n in range(3):
        follower(db, f"persona{n}@example.org")
    event = milestone_changed()
    first = handle(db, event)
    again = handle(db, event)  # a redelivered stream entry
    assert len(alerts(db)) == 3
    assert again == first  # still queued: handed on again, the row's state stops a second send
    with db.transaction() as session:
        session.execute(Delivery.__table__.update().values(state="sent"))
    assert handle(db, event) == [] and len(alerts(db)) == 3


def test_followers_are_read_in_pages_and_all_alerted(db, monkeypatch):
    monkeypatch.setattr(handlers, "FOLLOWERS_PAGE", 2)
    ids = [follower(db, f"persona{n}@example.org") for n in range(5)]
    follower(db, "fuera@example.org", status="cancelled")

    to_send = handle(db, milestone_changed())

    assert len(to_send) == 5
    assert sorted(row.context["subscription"]["id"] for row in alerts(db)) == ids


def test_a_follower_count_that_fills_the_last_page_exactly_is_handled(db, monkeypatch):
    monkeypatch.setattr(handlers, "FOLLOWERS_PAGE", 2)
    for n in range(4):
        follower(db, f"persona{n}@example.org")
    assert len(handle(db, milestone_changed())) == 4


def test_registration_facts_still_go_to_the_attendee(db):
    event = envelope.make("registration.confirmed", "/abierto/registration",
                          "events/1/registrations/7", fact_data(), now=NOW)
    (delivery_id,) = handle(db, event)
    (row,) = alerts(db)
    assert (row.id, row.recipient, row.kind, row.context) == (
        delivery_id, "ana@example.org", "registration_confirmed", event["data"])


# --- handing deliveries to the workers (pure: a recording stand-in for the task) ------------

def test_enqueue_splits_ids_into_chunks_of_fifty(monkeypatch):
    sent = []
    monkeypatch.setitem(tasks.app.conf, "worker_concurrency", 2)
    tasks.enqueue(range(1, 121), send=sent.append)
    assert [len(chunk) for chunk in sent] == [50, 50, 20]
    assert [i for chunk in sent for i in chunk] == list(range(1, 121))
    sent.clear()
    tasks.enqueue([], send=sent.append)
    assert sent == []


def test_a_batch_is_shared_between_the_worker_processes_unless_it_is_tiny(monkeypatch):
    """Thirty emails with two worker processes: two tasks of fifteen; ten stay one task."""
    sent = []
    monkeypatch.setitem(tasks.app.conf, "worker_concurrency", 2)
    tasks.enqueue(range(1, 31), send=sent.append)
    assert sent == [list(range(1, 16)), list(range(16, 31))]
    sent.clear()
    tasks.enqueue(range(1, 11), send=sent.append)
    assert sent == [list(range(1, 11))]


# --- the commitments client against a real HTTP server --------------------------------------

def test_the_client_reads_a_commitment(commitments_api):
    assert CommitmentsClient(commitments_api).get(1) == {
        "id": 1, "number": 1, "ogp_id": "MXCHH0001", "status": "in_progress", "progress_pct": 40,
        "title": {"es": "Prevención de la violencia", "en": "Violence prevention"}}


@pytest.mark.parametrize("commitment_id, error", [(7, UnknownCommitment),
                                                  (500, CommitmentsUnavailable)])
def test_the_client_tells_missing_from_failing(commitments_api, commitment_id, error):
    with pytest.raises(error):
        CommitmentsClient(commitments_api).get(commitment_id)


def test_the_client_says_unavailable_when_nothing_listens(closed_port_url):
    with pytest.raises(CommitmentsUnavailable):
        CommitmentsClient(closed_port_url).get(1)


def test_the_related_commitments_come_from_the_real_api_or_not_at_all(commitments_api):
    class Confirmation:  # the fields of a registration_confirmed delivery the lookup reads
        id, kind = 1, "registration_confirmed"

        def __init__(self, related):
            self.context = {"event": {"related_commitments": related}}

    client = CommitmentsClient(commitments_api)
    found = tasks.related_commitments(Confirmation([2, 1]), client)
    assert [c["number"] for c in found] == [2, 1]
    assert tasks.related_commitments(Confirmation([1, 7]), client) == []  # all or nothing
    assert tasks.related_commitments(Confirmation([]), client) == []


def test_a_recorded_alert_builds_into_its_email(db):
    """The stored context is all the worker needs: the email names the follower's link."""
    follower(db, "ana@example.org", language="en")
    handle(db, milestone_changed())
    (row,) = alerts(db)
    built = compose.build(row.kind, row.context, mail_from="Abierto <abierto@abierto.test>",
                         message_id=row.message_id)
    message = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    unsubscribe_url = row.context["subscription"]["unsubscribe_url"]
    assert message["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert message["Subject"].startswith("Update on commitment 3: Rural development")
