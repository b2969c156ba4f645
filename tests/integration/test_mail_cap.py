"""The mail cap on the real path: registrations read from a real Redis by the consumer,
deliveries recorded in a real database (SQLite and PostgreSQL), emails sent by the task to
a real SMTP server. An anonymous form cannot make the municipality flood a mailbox."""
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.notifications.models import Delivery
from services.notifications.pipeline import consumer, deliveries, handlers, mailcap, tasks
from shared import envelope
from shared.db import utcnow
from tests.integration.test_consumer import bus, pending, published, read_all  # noqa: F401 (fixture)
from tests.unit.test_tokens_and_links import fact_data

# Every spelling reaches one Gmail inbox.
ANA = ["ana+x@gmail.com", "Ana+1@gmail.com", "a.na@GMAIL.com", "ana+x@googlemail.com",
       "ANA@gmail.com", "a.n.a+y@gmail.com", "ana@googlemail.com"]


@pytest.fixture
def capped(worker, notifications, monkeypatch):
    """The worker's surroundings with MAIL_CAP set explicitly, whatever the environment says."""
    settings = replace(notifications.settings, mail_cap="5/hour;20/day")
    monkeypatch.setattr(tasks, "collaborators", replace(notifications, settings=settings))
    return worker


def registered(n, email, kind="registration.confirmed"):
    data = fact_data()
    data["registration"] = {**data["registration"], "id": n, "email": email}
    return envelope.make(kind, "/abierto/registration", f"events/1/registrations/{n}", data)


def consume(bus, events):
    """Publish, consume (the real handler path), and send what was queued; the queued ids."""
    stream = published(bus, events)
    queued = []
    consumer.process(bus, read_all(bus, stream), tasks.collaborators, enqueue=queued.extend)
    assert pending(bus, stream) == 0  # acked as usual, suppressed or not
    tasks.send_deliveries(queued)
    return queued


def rows(db):
    with db.transaction() as session:
        return session.execute(select(Delivery.id, Delivery.recipient, Delivery.state,
                                      Delivery.last_error).order_by(Delivery.id)).all()


def age(db, by, ids=None):
    """Make deliveries older, as if recorded `by` earlier (all of them, or those of `ids`)."""
    with db.transaction() as session:
        for row in session.scalars(select(Delivery)):
            if ids is None or row.id in ids:
                row.created_at -= by


def test_the_sixth_email_in_an_hour_to_one_mailbox_is_suppressed(capped, bus, smtp):
    inbox, _ = smtp
    events = [registered(n, ANA[n - 1], "registration.confirmed" if n % 2 else
                         "registration.waitlisted") for n in range(1, 7)]
    consume(bus, events[:3])
    consume(bus, events[3:])  # a second batch counts what the first recorded
    recorded = rows(capped)
    assert [state for _id, _to, state, _error in recorded] == ["sent"] * 5 + ["suppressed"]
    assert recorded[5].last_error == "mail cap for this mailbox reached (5/hour)"
    assert len(inbox.messages) == 5
    # mail goes to the address as typed; only counting uses the canonical form
    assert sorted(rcpt for to, _ in inbox.parsed() for rcpt in to) == sorted(ANA[:5])


def test_other_mailboxes_and_staff_caused_emails_are_not_capped(capped, bus, smtp):
    inbox, _ = smtp
    events = [registered(n, "ana@gmail.com") for n in range(1, 6)]
    events += [registered(6, "otra@gmail.com"),
               registered(7, "ana@gmail.com", "registration.promoted"),
               registered(8, "ana@gmail.com", "registration.cancelled")]
    consume(bus, events)
    assert [state for *_, state, _error in rows(capped)] == ["sent"] * 8
    assert len(inbox.messages) == 8


def test_suppressed_emails_do_not_count_so_a_mailbox_is_free_after_the_window(capped, bus, smtp):
    inbox, _ = smtp
    consume(bus, [registered(n, ANA[n % len(ANA)]) for n in range(1, 6)])
    sent = [row.id for row in rows(capped)]
    consume(bus, [registered(n, "ana@gmail.com") for n in range(6, 11)])  # suppressed, all five
    age(capped, timedelta(minutes=61), sent)  # the five sent ones leave the hour
    consume(bus, [registered(11, "ana@gmail.com")])  # five suppressed in the hour: not counted
    assert [state for *_, state, _error in rows(capped)] == (["sent"] * 5 + ["suppressed"] * 5
                                                              + ["sent"])
    assert len(inbox.messages) == 6


def test_the_day_cap_holds_when_each_hour_is_under_its_cap(capped, bus, smtp):
    inbox, _ = smtp
    for hour in range(4):  # 5 an hour, four hours running: 20 in the day
        consume(bus, [registered(hour * 5 + n, ANA[n % len(ANA)]) for n in range(1, 6)])
        age(capped, timedelta(hours=2))
    consume(bus, [registered(21, "ana@gmail.com")])
    recorded = rows(capped)
    assert [state for *_, state, _error in recorded] == ["sent"] * 20 + ["suppressed"]
    assert recorded[-1].last_error == "mail cap for this mailbox reached (20/day)"
    assert len(inbox.messages) == 20


def test_a_suppressed_delivery_is_never_swept_or_sent(capped, bus, smtp):
    inbox, _ = smtp
    consume(bus, [registered(n, "ana@gmail.com") for n in range(1, 7)])
    (suppressed_id,) = [row.id for row in rows(capped) if row.state == "suppressed"]
    with capped.transaction() as session:
        due = deliveries.sweep(session, utcnow() + timedelta(days=30), stale_after=1)
    assert suppressed_id not in due
    assert tasks.send_deliveries([suppressed_id]) == []  # a task handed it anyway claims nothing
    assert rows(capped)[-1].state == "suppressed" and len(inbox.messages) == 5


def test_the_api_lists_suppressed_deliveries(capped, bus, smtp, deliveries_app, deliveries_headers):
    consume(bus, [registered(n, "ana@gmail.com") for n in range(1, 8)])
    response = deliveries_app[0].get("/api/v1/deliveries?status=suppressed",
                                     headers=deliveries_headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_json()
    assert page["total"] == 2
    assert {(i["status"], i["state"], i["last_error"]) for i in page["items"]} == {
        ("suppressed", "suppressed", "mail cap for this mailbox reached (5/hour)")}
    sent = deliveries_app[0].get("/api/v1/deliveries?status=sent", headers=deliveries_headers)
    assert sent.get_json()["total"] == 5


def test_two_consumers_recording_at_once_cannot_both_pass_the_cap(capped):
    """Each records five emails to one mailbox at the same moment: five go, five do not.

    On PostgreSQL the mailbox's advisory lock makes the second wait for the first's commit,
    then count it; without it both would count zero and queue five each.
    """
    cap, start, results = mailcap.parse("5/hour;20/day"), threading.Barrier(2), []

    def record(first):
        batch = [registered(n, ANA[n % len(ANA)]) for n in range(first, first + 5)]
        start.wait()
        results.append(handlers.handle_batch(capped, batch, utcnow(), timedelta(seconds=60),
                                             "abierto.test", None, cap=cap))

    threads = [threading.Thread(target=record, args=(first,)) for first in (1, 101)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(len(queued) for queued in results) == 5
    assert sorted(state for *_, state, _error in rows(capped)) == ["queued"] * 5 + ["suppressed"] * 5
