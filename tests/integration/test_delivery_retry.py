"""An operator sends a failed email again, by API or `abierto deliveries`, on SQLite and
PostgreSQL: it goes once, and the delivery's history says who asked and when."""
import pytest
from sqlalchemy import select

from services.notifications.models import ApiToken, Delivery
from services.notifications.pipeline import deliveries, sweeper, tasks
from tests.integration.test_sending import confirmation, queue


def failed(db, address="dora@example.org", error="550 mailbox unavailable"):
    """A confirmation that failed after one try, as a worker leaves it; its id."""
    (delivery_id,) = queue(db, "registration_confirmed", [confirmation(address)])
    with db.transaction() as session:
        row = session.get(Delivery, delivery_id)
        row.state, row.attempts, row.last_error = deliveries.FAILED, 1, error
    return delivery_id


@pytest.fixture
def writer(deliveries_app, new_token, bearer):
    """Headers of a token named "guardia" with deliveries:write (ask for `worker` first: it
    empties the database)."""
    return bearer(new_token(deliveries_app[1], {"deliveries:write"}, model=ApiToken,
                            name="guardia"))


def retry(deliveries_app, headers, delivery_id):
    return deliveries_app[0].post(f"/api/v1/deliveries/{delivery_id}/retry", headers=headers)


def test_a_retried_failure_is_sent_once_and_its_history_says_who(worker, notifications, smtp,
                                                                   deliveries_app, writer,
                                                                   deliveries_headers):
    inbox, _ = smtp
    delivery_id = failed(worker)
    response = retry(deliveries_app, writer, delivery_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["state"], body["status"], body["attempts"]) == ("queued", "pending", 0)
    (entry,) = body["history"]
    assert (entry["action"], entry["by"], entry["from_state"], entry["attempts"],
            entry["last_error"]) == ("retried", "guardia", "failed", 1, "550 mailbox unavailable")
    # the sweeper queues it at its next round, the worker sends it once
    queued = []
    assert sweeper.sweep_once(notifications, enqueue=queued.append) == [delivery_id]
    assert tasks.send_deliveries(queued[0]) == ["sent"]
    assert tasks.send_deliveries(queued[0]) == []
    assert [to for to, _ in inbox.parsed()] == [{"dora@example.org"}]
    # sent now: a second retry is refused, and nothing more goes out
    again = retry(deliveries_app, writer, delivery_id)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert "sent" in again.get_json()["detail"]
    shown = deliveries_app[0].get(f"/api/v1/deliveries/{delivery_id}", headers=deliveries_headers)
    assert shown.get_json()["state"] == "sent" and len(shown.get_json()["history"]) == 1
    assert len(inbox.messages) == 1


def test_retrying_twice_queues_it_once(worker, deliveries_app, writer):
    delivery_id = failed(worker)
    answers = [retry(deliveries_app, writer, delivery_id).status_code for _ in range(2)]
    assert answers == [200, 409]
    with worker.transaction() as session:
        row = session.get(Delivery, delivery_id)
        assert (row.state, len(row.history)) == ("queued", 1)


@pytest.mark.parametrize("state", [deliveries.SUPPRESSED, deliveries.SENT, deliveries.QUEUED,
                                   deliveries.WITHDRAWN])
def test_only_a_failed_delivery_can_be_retried(worker, deliveries_app, writer, state):
    """Suppressed stays suppressed: its mailbox was over MAIL_CAP or its owner opposed."""
    delivery_id = failed(worker)
    with worker.transaction() as session:
        session.get(Delivery, delivery_id).state = state
    response = retry(deliveries_app, writer, delivery_id)
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert f"is {state}; only a failed delivery can be retried" in response.get_json()["detail"]
    with worker.transaction() as session:
        assert session.get(Delivery, delivery_id).history is None


def test_an_unknown_delivery_is_a_404(deliveries_app, writer):
    response = retry(deliveries_app, writer, 999)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_reading_is_not_enough_to_retry(worker, deliveries_app, deliveries_headers):
    delivery_id = failed(worker)
    response = retry(deliveries_app, deliveries_headers, delivery_id)
    assert response.status_code == 403
    assert "deliveries:write" in response.get_json()["detail"]
    assert retry(deliveries_app, {}, delivery_id).status_code == 401


def test_the_cli_lists_failures_masked_and_retries_them(abierto, empty_database):
    db = empty_database("notifications")
    ids = [failed(db, "dora@example.org"), failed(db, "eli@example.net", "554 rejected\nby policy")]
    queue(db, "registration_confirmed", [confirmation("fine@example.org")])
    done = abierto("deliveries", "list", "--status", "failed")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split("\t") == ["id", "state", "kind", "tries", "created", "recipient",
                                  "last_error"]
    rows = [line.split("\t") for line in lines]
    assert [(r[0], r[1], r[5], r[6]) for r in rows] == [
        (str(ids[1]), "failed", "e***@example.net", "554 rejected by policy"),
        (str(ids[0]), "failed", "d***@example.org", "550 mailbox unavailable")]
    assert "dora@" not in done.stdout and "2 of 2 shown" in done.stderr
    clear = abierto("deliveries", "list", "--status", "failed", "--show-addresses")
    assert "dora@example.org" in clear.stdout

    done = abierto("deliveries", "retry", str(ids[0]), "--by", "cli:marta")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"delivery {ids[0]}: queued again"
    again = abierto("deliveries", "retry", str(ids[0]), str(ids[1]))
    assert again.returncode == 1
    assert f"Delivery {ids[0]} is queued" in again.stderr
    assert again.stdout.strip() == f"delivery {ids[1]}: queued again"
    with db.transaction() as session:
        history = {row.id: row.history for row in session.scalars(select(Delivery))}
    assert history[ids[0]][0]["by"] == "cli:marta"
    assert history[ids[1]][0]["by"].startswith("cli")
    assert abierto("deliveries", "list", "--status", "failed").stdout.count("\n") == 1
