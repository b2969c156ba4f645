"""The worker's task on a real database and a real SMTP server: a chunk is claimed at once,
each email is sent once and recorded, and what it cannot send is given back or failed."""
import email
import email.policy
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

from services.notifications.models import Delivery, Subscription
from services.notifications.pipeline import deliveries, tasks
from shared.db import utcnow
from tests.conftest import POSTGRES_URL
from tests.unit.test_alert_emails import alert
from tests.unit.test_emails import fact


def queue(db, kind, contexts):
    """Delivery rows as the consumer records them; returns their ids."""
    fact_envelope = {"id": f"evt-{kind}-{len(contexts)}", "type": "test", "subject": "s"}
    with db.transaction() as session:
        recorded = deliveries.record_all(
            session, [(fact_envelope, kind, recipient, context) for recipient, context in contexts],
            utcnow(), timedelta(seconds=60), "abierto.test")
        return [delivery_id for delivery_id, _state in recorded]


def confirmation(address):
    data = fact()
    data["registration"]["email"] = address
    return address, data


def states(db):
    with db.transaction() as session:
        return {row.recipient: (row.state, row.attempts)
                for row in session.scalars(select(Delivery))}


def test_a_chunk_sends_each_queued_email_once_and_skips_what_is_done(worker, smtp):
    inbox, _ = smtp
    ids = queue(worker, "registration_confirmed", [confirmation(f"p{i}@example.org") for i in range(3)])
    assert tasks.send_deliveries(ids) == ["sent", "sent", "sent"]
    assert tasks.send_deliveries(ids) == []  # a redelivered task finds nothing left to send
    assert len(inbox.messages) == 3
    assert set(states(worker).values()) == {("sent", 1)}
    (message,) = inbox.to("p1@example.org")
    assert message["Subject"].startswith("Registro confirmado: Presentación del Cumplimiento")


def test_an_alert_for_someone_who_left_is_withdrawn_and_the_rest_go(worker, smtp):
    inbox, _ = smtp
    with worker.transaction() as session:
        staying = Subscription(email="stay@example.org", email_key="stay@example.org",
                               topic="commitment:3", language="es", status="confirmed",
                               created_at=utcnow())
        leaving = Subscription(email="left@example.org", email_key="left@example.org",
                               topic="commitment:3", language="es", status="cancelled",
                               created_at=utcnow())
        session.add_all([staying, leaving])
        session.flush()
        subscribers = [(s.email, s.id) for s in (staying, leaving)]
    contexts = []
    for address, subscription_id in subscribers:
        data = alert()
        data["subscription"] = {**data["subscription"], "id": subscription_id, "email": address}
        contexts.append((address, data))
    ids = queue(worker, "milestone_alert", contexts)
    assert sorted(tasks.send_deliveries(ids)) == ["sent"]
    assert [to for to, _ in inbox.parsed()] == [{"stay@example.org"}]
    assert states(worker)["left@example.org"][0] == "withdrawn"


def test_what_time_does_not_allow_is_given_back_and_queued_again(worker, smtp, monkeypatch):
    inbox, _ = smtp
    requeued = []
    monkeypatch.setattr(tasks, "enqueue", requeued.append)
    monkeypatch.setitem(tasks.app.conf, "task_soft_time_limit", 1e-9)  # the deadline has passed
    ids = queue(worker, "registration_confirmed", [confirmation(f"q{i}@example.org") for i in range(3)])
    assert tasks.send_deliveries(ids) == ["sent"]  # the first is always tried
    assert requeued == [ids[1:]]
    assert len(inbox.messages) == 1
    # given back as they were: queued, no attempt counted
    assert states(worker) == {"q0@example.org": ("sent", 1), "q1@example.org": ("queued", 0),
                              "q2@example.org": ("queued", 0)}


def test_data_that_cannot_become_an_email_fails_that_one_only(worker, smtp):
    inbox, _ = smtp
    broken = confirmation("broken@example.org")
    del broken[1]["event"]["timezone"]
    ids = queue(worker, "registration_confirmed", [broken, confirmation("fine@example.org")])
    assert tasks.send_deliveries(ids) == ["failed", "sent"]
    assert [to for to, _ in inbox.parsed()] == [{"fine@example.org"}]
    with worker.transaction() as session:
        row = session.scalar(select(Delivery).where(Delivery.recipient == "broken@example.org"))
    assert (row.state, row.last_error) == ("failed", "not built: KeyError")


def test_the_sent_email_parses_as_a_mail_client_reads_it(worker, smtp):
    inbox, _ = smtp
    tasks.send_deliveries(queue(worker, "registration_confirmed", [confirmation("r@example.org")]))
    (_at, raw) = inbox.messages[0]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert "Hola, Ana López:" in message.get_body(("plain",)).get_content()
    assert [part.get_content_type() for part in message.iter_attachments()] == ["text/calendar"]


@pytest.mark.backends("postgresql")
def test_a_task_after_the_server_ended_the_records_connection_sends_and_records_each(
        worker, smtp):
    inbox, _ = smtp
    assert tasks.send_deliveries(queue(worker, "registration_confirmed",
                                       [confirmation("before@example.org")])) == ["sent"]
    with worker.async_commits().connect() as connection:  # the one the task recorded on
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()

    ids = queue(worker, "registration_confirmed", [confirmation(f"after{i}@example.org")
                                                   for i in range(3)])
    assert tasks.send_deliveries(ids) == ["sent", "sent", "sent"]
    assert len(inbox.messages) == 4
    assert set(states(worker).values()) == {("sent", 1)}


def test_a_task_whose_first_email_is_refused_records_it_failed_and_sends_the_next(worker, smtp):
    # The refusal comes before anything else was done on the task's records connection:
    # its `sent`, written before the send, is still rolled back, not left for the next
    # email's commit.
    inbox, _ = smtp
    inbox.refused["refused"] = "550 5.1.1 Mailbox unavailable"
    ids = queue(worker, "registration_confirmed",
                [confirmation(address) for address in ("refused@example.org", "next@example.org")])
    assert tasks.send_deliveries(ids) == ["failed", "sent"]
    assert [to for to, _ in inbox.parsed()] == [{"next@example.org"}]
    assert states(worker) == {"refused@example.org": ("failed", 1), "next@example.org": ("sent", 1)}


def test_a_refused_email_is_not_recorded_sent_and_the_next_ones_are(worker, smtp):
    # On PostgreSQL its `sent` was written before the send, in the transaction the refusal
    # rolls back; the next email's record goes on the same connection.
    inbox, _ = smtp
    inbox.refused["refused"] = "550 5.1.1 Mailbox unavailable"
    ids = queue(worker, "registration_confirmed",
                [confirmation(address) for address in
                 ("first@example.org", "refused@example.org", "third@example.org")])
    assert tasks.send_deliveries(ids) == ["sent", "failed", "sent"]
    assert sorted(to for to, _ in inbox.parsed()) == [{"first@example.org"},
                                                      {"third@example.org"}]
    assert states(worker) == {"first@example.org": ("sent", 1),
                              "refused@example.org": ("failed", 1),
                              "third@example.org": ("sent", 1)}
