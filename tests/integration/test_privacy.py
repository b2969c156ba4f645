"""ARCO requests (access and erasure by email), per service and through `abierto arco`, on both backends."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from services.notifications import privacy as notification_privacy
from services.notifications.pipeline import deliveries
from services.registration import privacy, service
from services.registration.facts import Links
from shared.signing import Keys

NOW = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)  # before the fixtures' 2031-05-31 events
AFTER_THE_EVENT = datetime(2031, 6, 1, 12, 0, tzinfo=timezone.utc)
EXPORT_FIELDS = {"id", "accessibility_needs", "event_id", "event_title", "event_title_en", "name", "email", "organization", "sector",
                 "language", "status", "created_at", "cancelled_at", "privacy_consent_at",
                 "accessibility_consent_at"}
DELIVERY_FIELDS = {"id", "kind", "status", "state", "created_at", "sent_at", "subject", "content"}


def links(settings):
    return Links(settings.public_base_url, settings.keys)


def subjects(facts):
    return [fact["subject"] for fact in facts]


def table(db, sql, **params):
    with db.engine.connect() as connection:
        return connection.execute(text(sql), params).all()


def statuses(db):
    """{registration id: status} of every row left."""
    return dict(table(db, "SELECT id, status FROM registrations"))


def confirmed_count(db, event_id):
    return table(db, "SELECT confirmed_count FROM events WHERE id = :i", i=event_id)[0][0]


@pytest.fixture
def notifications_db(empty_database):
    return empty_database("notifications")


@pytest.fixture
def deliver(notifications_db):
    """deliver(recipient, registration_id, kind=...) -> the id of a delivery recorded as the consumer does."""

    def record(recipient, registration_id, kind="registration_confirmed", state=deliveries.QUEUED):
        fact = {"id": str(uuid.uuid4()), "type": "registration." + kind.split("_")[1],
                "subject": f"events/1/registrations/{registration_id}"}
        with notifications_db.transaction() as session:
            row = deliveries.record(session, fact, kind, recipient,
                                    {"registration": {"email": recipient, "name": "Ana"}}, NOW,
                                    timedelta(minutes=2), "abierto.test")
            row.state = state
            row.sent_at = NOW if state == deliveries.SENT else None
            return row.id

    return record


@pytest.fixture
def full_event(make_event, register):
    """A one-seat event: person 1 holds the seat, persons 2 and 3 wait in that order; their ids."""
    event = make_event(capacity=1)
    ids = [register(event["id"], n).get_json()["id"] for n in (1, 2, 3)]
    return event, ids


# --- access --------------------------------------------------------------------------------

def test_export_lists_a_persons_registrations_across_events_and_nobody_elses(
        registration_app, make_event, register):
    """Every event the person signed up for, whatever the case of their email; nobody else."""
    db = registration_app[1]
    first = make_event(title="Primer foro", capacity=None)
    second = make_event(title="Segundo foro", capacity=1)
    register(second["id"], 9)
    mine = [register(first["id"], 1, organization="Colectivo Árbol").get_json()["id"],
            register(second["id"], 1, email="Persona1@Example.ORG").get_json()["id"]]
    register(first["id"], 2)

    items = privacy.export(db, "  PERSONA1@example.org ")

    assert [item["id"] for item in items] == mine
    assert all(set(item) == EXPORT_FIELDS for item in items)
    assert [(i["event_id"], i["event_title"], i["status"]) for i in items] == [
        (first["id"], "Primer foro", "confirmed"), (second["id"], "Segundo foro", "waitlisted")]
    assert [i["email"] for i in items] == ["persona1@example.org", "Persona1@Example.ORG"]
    assert items[0]["organization"] == "Colectivo Árbol" and items[0]["name"] == "Persona 1"
    assert items[0]["cancelled_at"] is None
    for name in ("created_at", "privacy_consent_at"):
        assert datetime.fromisoformat(items[0][name]).tzinfo is not None
    assert privacy.export(db, "nadie@example.org") == []


def test_export_shows_when_a_registration_was_cancelled(registration_app, full_event):
    db, settings = registration_app[1], registration_app[2]
    _, (holder, _, _) = full_event
    service.cancel(db, holder, links(settings), NOW)
    (item,) = privacy.export(db, "persona1@example.org")
    assert item["status"] == "cancelled"
    assert datetime.fromisoformat(item["cancelled_at"]) == NOW


def test_notifications_export_lists_the_emails_kept_for_an_address(notifications_db, deliver):
    """Deliveries to the address in any case, with their public status; nobody else's."""
    mine = [deliver("Ana@Example.org", 1, state=deliveries.SENT),
            deliver("ana@example.org", 2, kind="registration_waitlisted")]
    deliver("bea@example.org", 3)

    items = notification_privacy.export(notifications_db, " ANA@example.org")

    assert [item["id"] for item in items] == mine
    assert all(set(item) == DELIVERY_FIELDS for item in items)
    assert [(i["kind"], i["state"], i["status"]) for i in items] == [
        ("registration_confirmed", "sent", "sent"), ("registration_waitlisted", "queued", "pending")]
    assert items[0]["subject"] == "events/1/registrations/1"
    assert datetime.fromisoformat(items[0]["sent_at"]) == NOW and items[1]["sent_at"] is None
    assert notification_privacy.export(notifications_db, "nadie@example.org") == []


# --- erasure -------------------------------------------------------------------------------

def test_erasing_a_confirmed_attendee_promotes_the_first_person_waiting_and_emails_only_them(
        bus, registration_app, make_event, register, full_event, outbox_facts):
    """The seat goes to the next in line; the erased person leaves no row and no fact to email."""
    client, db, settings = registration_app
    event, (erased, second, third) = full_event
    other = make_event(capacity=2)
    also_erased = register(other["id"], 1, email="PERSONA1@example.org").get_json()["id"]
    stays = register(other["id"], 4).get_json()["id"]
    before = outbox_facts(db)
    assert f"events/{event['id']}/registrations/{erased}" in subjects(before)

    assert privacy.erase(db, bus, "persona1@example.org", links(settings), NOW) == 2

    assert statuses(db) == {second: "confirmed", third: "waitlisted", stays: "confirmed"}
    assert (confirmed_count(db, event["id"]), confirmed_count(db, other["id"])) == (1, 1)
    facts = outbox_facts(db)
    for gone in (f"events/{event['id']}/registrations/{erased}",
                 f"events/{other['id']}/registrations/{also_erased}"):
        assert gone not in subjects(facts)
    assert "registration.cancelled" not in [fact["type"] for fact in facts]
    assert all(fact["data"]["registration"]["email"] != "persona1@example.org" for fact in facts)
    assert facts[:-1] == [fact for fact in before if fact["subject"] in subjects(facts)]
    promoted = facts[-1]
    assert promoted["type"] == "registration.promoted"
    assert promoted["subject"] == f"events/{event['id']}/registrations/{second}"
    assert promoted["data"]["registration"]["status"] == "confirmed"
    assert promoted["data"]["registration"]["cancel_url"].startswith(settings.public_base_url)
    assert privacy.export(db, "persona1@example.org") == []
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["seats_left"] == 0


def test_erasing_someone_waiting_promotes_nobody(
        bus, registration_app, full_event, outbox_facts):
    db, settings = registration_app[1], registration_app[2]
    event, (holder, erased, third) = full_event
    before = outbox_facts(db)

    assert privacy.erase(db, bus, "persona2@example.org", links(settings), NOW) == 1

    assert statuses(db) == {holder: "confirmed", third: "waitlisted"}
    assert confirmed_count(db, event["id"]) == 1
    gone = f"events/{event['id']}/registrations/{erased}"
    assert outbox_facts(db) == [fact for fact in before if fact["subject"] != gone]


def test_erasing_an_attendee_of_an_event_that_is_over_frees_no_seat(
        bus, registration_app, full_event, outbox_facts):
    """Nobody is promoted into an event that already happened; the row still goes."""
    db, settings = registration_app[1], registration_app[2]
    event, (erased, second, third) = full_event
    before = outbox_facts(db)

    assert privacy.erase(db, bus, "persona1@example.org", links(settings), AFTER_THE_EVENT) == 1

    assert statuses(db) == {second: "waitlisted", third: "waitlisted"}
    gone = f"events/{event['id']}/registrations/{erased}"
    assert outbox_facts(db) == [fact for fact in before if fact["subject"] != gone]


def test_erasing_an_unknown_email_changes_nothing(
        bus, registration_app, full_event, nothing_written, outbox_facts, notifications_db, deliver):
    db, settings = registration_app[1], registration_app[2]
    deliver("persona1@example.org", 1)
    before = outbox_facts(db)
    with nothing_written():
        assert privacy.erase(db, bus, "nadie@example.org", links(settings), NOW) == 0
    assert outbox_facts(db) == before
    assert notification_privacy.erase(notifications_db, bus, Keys("test"), "nadie@example.org", NOW) == 0
    assert len(notification_privacy.export(notifications_db, "persona1@example.org")) == 1


def test_notifications_erase_deletes_only_that_addresss_deliveries(bus, notifications_db, deliver):
    deliver("Ana@Example.org", 1, state=deliveries.SENT)
    deliver("ana@example.org", 2)
    kept = deliver("bea@example.org", 3)
    assert notification_privacy.erase(notifications_db, bus, Keys("test"), "ana@EXAMPLE.org ", NOW) == 2
    assert table(notifications_db, "SELECT id FROM deliveries") == [(kept,)]


# --- the operator command ------------------------------------------------------------------

def test_arco_export_prints_one_json_document(
        abierto, registration_app, full_event, deliver):
    event, (mine, _, _) = full_event
    delivery = deliver("Persona1@example.org", mine)
    deliver("persona2@example.org", 2)

    done = abierto("arco", "export", "--email", "persona1@example.org")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) == {"email", "registration", "notifications", "subscriptions",
                             "opposed"}
    assert document["opposed"] is False
    assert document["email"] == "persona1@example.org"
    assert [(r["id"], r["event_title"], r["status"]) for r in document["registration"]] == [
        (mine, event["title"]["es"], "confirmed")]
    assert [n["id"] for n in document["notifications"]] == [delivery]
    assert "Presentación" in done.stdout  # ensure_ascii=False: accents stay readable
    assert done.stdout.startswith('{\n  "email"')  # indent 2


def test_arco_erase_asks_first_and_erases_with_yes(
        abierto, registration_app, full_event, deliver, notifications_db, outbox_facts):
    db = registration_app[1]
    event, (erased, second, third) = full_event
    deliver("persona1@example.org", erased)
    kept = deliver("persona2@example.org", second)

    refused = abierto("arco", "erase", "--email", "persona1@example.org", input="n\n")
    assert refused.returncode != 0 and "Aborted" in refused.stderr
    assert erased in statuses(db)

    done = abierto("arco", "erase", "--email", "persona1@example.org", "--yes")

    assert done.returncode == 0, done.stderr
    # mail first: what is still on its way to the person reaches nobody while the rest goes
    assert done.stderr.splitlines() == ["notifications: 1 erased", "registration: 1 erased"]
    assert statuses(db) == {second: "confirmed", third: "waitlisted"}
    assert table(notifications_db, "SELECT id FROM deliveries") == [(kept,)]
    promoted = outbox_facts(db)[-1]
    assert (promoted["type"], promoted["data"]["registration"]["id"]) == (
        "registration.promoted", second)
    assert promoted["data"]["registration"]["cancel_url"].startswith("http://abierto.test/")
    again = abierto("arco", "export", "--email", "persona1@example.org")
    assert json.loads(again.stdout) == {"email": "persona1@example.org", "registration": [],
                                        "notifications": [], "subscriptions": [],
                                        "opposed": False}


@pytest.mark.parametrize("email", ["notanemail", "", "   ", "*"])
def test_arco_refuses_what_is_not_an_email(abierto, email):
    """A typo must not be answered with "0 erased", as if the person had been forgotten."""
    for command in (("arco", "export", "--email", email), ("arco", "erase", "--email", email, "--yes")):
        done = abierto(*command)
        assert done.returncode == 2 and "is not an email address" in done.stderr


def test_arco_erase_erases_nothing_while_a_database_is_away(
        abierto, registration_app, full_event, deliver):
    """Both databases must answer before either erases: no half-kept erasure, and one line."""
    db = registration_app[1]
    _, (erased, _, _) = full_event
    before = statuses(db)

    done = abierto("arco", "erase", "--email", "persona1@example.org", "--yes",
                   NOTIFICATIONS_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nothing")

    assert done.returncode == 1
    assert done.stderr.startswith("Error: the database refused:") and "Traceback" not in done.stderr
    assert statuses(db) == before and erased in before


def test_erasing_a_pending_hold_frees_its_seat_for_the_first_person_waiting(
        bus, registration_app, make_event, register, outbox_facts):
    """A seat held until confirmed by email is a seat: erasing its holder hands it on."""
    _, db, settings = registration_app
    event = make_event(capacity=1, confirm_by_email=True)
    held, waiting = (register(event["id"], n).get_json() for n in (1, 2))
    assert (held["status"], waiting["status"]) == ("pending", "waitlisted")
    assert privacy.erase(db, bus, "persona1@example.org", links(settings), NOW) == 1
    assert statuses(db) == {waiting["id"]: "confirmed"}
    assert confirmed_count(db, event["id"]) == 1
    assert outbox_facts(db)[-1]["type"] == "registration.promoted"


def test_a_registration_after_an_erasure_never_gets_the_erased_ones_id_nor_its_links(
        bus, registration_app, make_event, register):
    """The newest registration erased, the next one made: another id (SQLite reused it when
    its table had lost AUTOINCREMENT), so the erased person's cancel link reaches nobody."""
    client, db, settings = registration_app
    event = make_event(capacity=5)
    register(event["id"], 1)
    erased = register(event["id"], 2).get_json()["id"]
    cancel_link = links(settings).cancel(erased)
    assert privacy.erase(db, bus, "persona2@example.org", links(settings), NOW) == 1

    newcomer = register(event["id"], 3).get_json()["id"]

    assert newcomer > erased
    page = client.get(cancel_link.removeprefix(settings.public_base_url))
    assert page.status_code == 404
    assert statuses(db)[newcomer] == "confirmed"
