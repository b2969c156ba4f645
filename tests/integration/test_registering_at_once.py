"""On PostgreSQL a registration after the first for an event is written in one statement
(services.registration.registering_at_once): it must decide and write exactly as the
locked way does, and give way to it whenever the event changed, filled up or the email is
there already."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event as sqlalchemy_event, text

from services.registration import service as use_cases
from shared.db import Database, make_engine, utcnow
from shared.devstack import free_port

pytestmark = pytest.mark.backends("postgresql")


def types(facts):
    return [fact["type"] for fact in facts]


def stored(db, event_id):
    with db.engine.connect() as connection:
        count = connection.execute(text("SELECT confirmed_count FROM events WHERE id = :e"),
                                   {"e": event_id}).scalar_one()
        # in the order they were registered: a web worker takes ids in blocks (see the module)
        rows = connection.execute(text(
            "SELECT * FROM registrations WHERE event_id = :e ORDER BY created_at"), {"e": event_id})
        return count, [dict(row._mapping) for row in rows]


class LockedStatements:
    """The statements on the events table run through the engine of the locked way."""

    def __init__(self, db):
        self.seen = []
        sqlalchemy_event.listen(db.engine, "before_cursor_execute", self.look)

    def look(self, connection, cursor, statement, *args):
        if "events" in statement:
            self.seen.append(statement)


def test_after_the_first_a_registration_needs_no_transaction_of_the_locked_way(
        registration_app, make_event, register, outbox_facts):
    """The second registration is written without a statement on the locked way's
    connections, and its row and fact are what the locked way writes for the first."""
    _, db, _ = registration_app
    event = make_event(capacity=10)
    first = register(event["id"], 1)
    locked = LockedStatements(db)
    second = register(event["id"], 2)
    assert locked.seen == []
    assert [first.status_code, second.status_code] == [201, 201]
    assert second.get_json()["status"] == "confirmed"
    count, rows = stored(db, event["id"])
    assert count == 2
    personal = {"id", "name", "email", "email_key", "queued_at", "privacy_consent_at",
                "created_at", "updated_at", "change_seq", "change_xid"}
    assert [{k: v for k, v in row.items() if k not in personal} for row in rows] == [
        {k: v for k, v in rows[0].items() if k not in personal}] * 2
    assert rows[1]["id"] == second.get_json()["id"]
    facts = outbox_facts(db)
    assert types(facts) == ["registration.confirmed"] * 2
    first_data, second_data = (fact["data"] for fact in facts)
    assert second_data["event"] == first_data["event"]
    assert second_data["registration"]["id"] == rows[1]["id"]
    assert second_data.keys() == first_data.keys()


def test_a_rush_after_the_first_registration_never_overbooks(
        registration_app, make_event, person, kiosk_headers, outbox_facts):
    """40 people at once for the 5 seats left: 5 confirmed, 35 waiting."""
    client, db, _ = registration_app
    event = make_event(capacity=6)
    assert client.post(f"/api/v1/events/{event['id']}/registrations", json=person(0),
                       headers=kiosk_headers).status_code == 201
    app = client.application

    def post(n):
        return app.test_client().post(f"/api/v1/events/{event['id']}/registrations",
                                      json=person(n), headers=kiosk_headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(1, 41)))
    assert [a.status_code for a in answers] == [201] * 40
    statuses = [a.get_json()["status"] for a in answers]
    assert statuses.count("confirmed") == 5 and statuses.count("waitlisted") == 35
    count, rows = stored(db, event["id"])
    assert count == 6 and sum(row["status"] == "confirmed" for row in rows) == 6
    facts = outbox_facts(db)
    assert sorted(types(facts)) == ["registration.confirmed"] * 6 + ["registration.waitlisted"] * 35


def test_a_seat_another_process_took_meanwhile_is_not_given_twice(
        registration_app, make_event, register, outbox_facts):
    """This process last saw one seat free; another took it since: the next one waits."""
    client, db, _ = registration_app
    event = make_event(capacity=2)
    register(event["id"], 1)  # this process now keeps the event with one seat free
    other = Database(db.url)  # another worker, with copies of its own
    try:
        now = utcnow()
        taken, _ = use_cases.register(other, event["id"], {
            "name": "Otra", "email": "otra@example.org", "organization": "", "sector": "citizen",
            "language": "es"}, client.application.extensions["abierto"].links, now, timedelta(hours=1))
        assert taken.status == "confirmed"
    finally:
        other.dispose()
    answer = register(event["id"], 3)
    assert answer.status_code == 201 and answer.get_json()["status"] == "waitlisted"
    assert stored(db, event["id"])[0] == 2
    assert types(outbox_facts(db))[-1] == "registration.waitlisted"


def test_an_edit_after_the_first_registration_reaches_the_next_fact(
        registration_app, make_event, register, organiser_headers, outbox_facts):
    client, db, _ = registration_app
    event = make_event()
    register(event["id"], 1)
    assert client.patch(f"/api/v1/events/{event['id']}", json={"title": "Nuevo título"},
                        headers=organiser_headers).status_code == 200
    assert register(event["id"], 2).status_code == 201
    assert outbox_facts(db)[-1]["data"]["event"]["title"] == "Nuevo título"


def test_registration_closed_after_the_first_registration_refuses_the_next(
        registration_app, make_event, register, organiser_headers):
    client, db, _ = registration_app
    event = make_event()
    register(event["id"], 1)
    closes = (utcnow() - timedelta(minutes=1)).isoformat()
    assert client.patch(f"/api/v1/events/{event['id']}", json={"registration_closes_at": closes},
                        headers=organiser_headers).status_code == 200
    answer = register(event["id"], 2)
    assert answer.status_code == 409
    assert stored(db, event["id"])[0] == 1


def test_the_same_email_again_changes_nothing_but_tells_its_owner(
        registration_app, make_event, register_anonymously, outbox_facts):
    _, db, _ = registration_app
    event = make_event()
    answers = [register_anonymously(event["id"], 1) for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202]
    count, rows = stored(db, event["id"])
    assert count == 1 and len(rows) == 1
    assert types(outbox_facts(db)) == ["registration.confirmed", "registration.repeated"]


def test_connections_the_server_ended_lose_no_registration(
        registration_app, make_event, register):
    """A restart of PostgreSQL ends the kept connections: the next registration still goes
    through (the locked way checks its connection), and the ones after it are quick again."""
    _, db, _ = registration_app
    event = make_event(capacity=None)
    register(event["id"], 1)
    register(event["id"], 2)  # the one-statement way's connection is now in its pool
    with db.engine.connect() as connection:
        ended = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    assert ended >= 1
    answers = [register(event["id"], n) for n in (3, 4)]
    locked = LockedStatements(db)
    answers.append(register(event["id"], 5))
    assert locked.seen == []
    assert [a.get_json()["status"] for a in answers] == ["confirmed"] * 3
    assert len(stored(db, event["id"])[1]) == 5


def test_a_database_that_is_away_is_a_503_at_once_not_a_second_try(
        registration_app, make_event, register, person):
    """The one-statement way falls back only for a pooled connection the server ended; a
    server that does not answer is answered 503 as the locked way would, not tried twice."""
    client, db, _ = registration_app
    event = make_event(capacity=None)
    register(event["id"], 1)  # the worker now keeps the event
    # Its one-statement connections come from a port nobody listens on, for this one
    # request (dispose: it lets go of the ones it keeps).
    db.dispose()
    db._autocommits = make_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x", autocommit=True)
    try:
        answer = client.post(f"/api/v1/events/{event['id']}/registrations", json=person(2))
    finally:
        db.dispose()
    assert answer.status_code == 503 and "database" in answer.get_json()["detail"]
    assert len(stored(db, event["id"])[1]) == 1
