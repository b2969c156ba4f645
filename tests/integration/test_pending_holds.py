"""Seats that only people can hold (SQLite and PostgreSQL): on a `confirm_by_email` event a seat
is held `pending` until its person confirms through the emailed link; holds nobody confirmed
expire after PENDING_HOLD and their seats go to the waiting list, in order, exactly once."""
import threading
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

from services.registration import service as use_cases
from services.registration.app import create_app
from services.registration.facts import Links
from shared.db import utcnow
from tests.integration.problems import tampered

HOLD = timedelta(minutes=30)  # the default PENDING_HOLD


def types(facts):
    return [fact["type"] for fact in facts]


def ids_of(facts, fact_type):
    return [f["data"]["registration"]["id"] for f in facts if f["type"] == fact_type]


@pytest.fixture
def links(registration_app):
    _, _, settings = registration_app
    return Links(settings.public_base_url, settings.keys)


@pytest.fixture
def held_event(make_event, register):
    """A confirm_by_email event of one seat: person 1 holds it, 2 and 3 wait, in that order."""
    event = make_event(capacity=1, confirm_by_email=True)
    statuses = [register(event["id"], n).get_json()["status"] for n in (1, 2, 3)]
    assert statuses == ["pending", "waitlisted", "waitlisted"]
    return event


def at(registration_app, moment):
    """A client of the same app whose clock says `moment`."""
    _, db, settings = registration_app
    return create_app(settings, db=db, clock=lambda: moment).test_client()


def test_a_pending_hold_takes_a_seat_and_its_email_carries_the_confirm_link(
        registration_app, held_event, outbox_facts):
    client, db, _ = registration_app
    assert client.get(f"/api/v1/events/{held_event['id']}").get_json()["seats_left"] == 0
    pending = outbox_facts(db)[0]
    assert pending["type"] == "registration.pending"
    attendee = pending["data"]["registration"]
    assert attendee["status"] == "pending"
    assert attendee["confirm_url"].startswith("http://abierto.test/registrations/confirm/")
    assert attendee["cancel_url"].startswith("http://abierto.test/registrations/cancel/")
    held_until = pending["data"]["registration"]["held_until"]
    assert abs((utcnow() + HOLD - datetime.fromisoformat(held_until))
               .total_seconds()) < 60


def test_unconfirmed_holds_expire_and_the_first_person_waiting_gets_the_seat(
        registration_app, held_event, outbox_facts, registration_status, links):
    client, db, _ = registration_app
    before = len(outbox_facts(db))
    holder, first, second = (ids_of(outbox_facts(db), t) for t in (
        "registration.pending", "registration.waitlisted", "registration.waitlisted"))
    holder, (first, second) = holder[0], first
    assert use_cases.expire_holds(db, links, utcnow() + HOLD - timedelta(seconds=5)) == 0
    assert len(outbox_facts(db)) == before  # not yet due: nothing
    assert use_cases.expire_holds(db, links, utcnow() + HOLD + timedelta(seconds=5)) == 1
    facts = outbox_facts(db)[before:]
    assert types(facts) == ["registration.expired", "registration.promoted"]
    assert ids_of(facts, "registration.expired") == [holder]
    assert ids_of(facts, "registration.promoted") == [first]  # in order: the first in line
    assert facts[1]["data"]["registration"]["status"] == "confirmed"  # promoted: confirmed at once
    assert [registration_status(db, i) for i in (holder, first, second)] == [
        "expired", "confirmed", "waitlisted"]
    assert client.get(f"/api/v1/events/{held_event['id']}").get_json()["seats_left"] == 0
    assert use_cases.expire_holds(db, links, utcnow() + 2 * HOLD) == 0  # nothing twice


def test_an_expired_registration_gets_no_more_email_and_may_register_again(
        registration_app, held_event, outbox_facts, links, register, registration_status):
    client, db, _ = registration_app
    (holder,) = ids_of(outbox_facts(db), "registration.pending")
    use_cases.expire_holds(db, links, utcnow() + HOLD + timedelta(seconds=5))
    # Another expirer round, a cancel click: nothing more about them.
    count = len(outbox_facts(db))
    cancel = outbox_facts(db)[0]["data"]["registration"]["cancel_url"]
    assert client.post(urlsplit(cancel).path).status_code == 200
    assert len(outbox_facts(db)) == count and registration_status(db, holder) == "expired"
    again = register(held_event["id"], 1)  # back of the line, as after cancelling
    assert (again.status_code, again.get_json()["id"], again.get_json()["status"]) == (
        201, holder, "waitlisted")


def test_expirers_running_at_once_expire_and_promote_exactly_once(
        registration_app, make_event, register, outbox_facts, links):
    """Eight expirers in threads, each with its own connections: every lapsed hold expires
    once and every freed seat goes to one person waiting (FOR UPDATE / BEGIN IMMEDIATE)."""
    _, db, _ = registration_app
    event = make_event(capacity=3, confirm_by_email=True)
    statuses = [register(event["id"], n).get_json()["status"] for n in range(1, 9)]
    assert statuses == ["pending"] * 3 + ["waitlisted"] * 5
    later = utcnow() + HOLD + timedelta(seconds=5)
    barrier, counts = threading.Barrier(8), []

    def expirer():
        barrier.wait()
        counts.append(use_cases.expire_holds(db, links, later))

    threads = [threading.Thread(target=expirer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    facts = outbox_facts(db)
    assert sum(counts) == 3
    assert len(ids_of(facts, "registration.expired")) == 3
    promoted = ids_of(facts, "registration.promoted")
    waiting = ids_of(facts, "registration.waitlisted")
    assert promoted == waiting[:3]  # the first three in line, once each
    response = registration_app[0].get(f"/api/v1/events/{event['id']}").get_json()
    assert response["seats_left"] == 0


def test_the_link_shows_a_page_and_only_its_button_confirms(
        registration_app, held_event, outbox_facts, registration_status, links):
    client, db, _ = registration_app
    pending = outbox_facts(db)[0]["data"]["registration"]
    path = urlsplit(pending["confirm_url"]).path
    count = len(outbox_facts(db))
    page = client.get(path)  # what a mail scanner does
    assert page.status_code == 200 and "<form" in page.get_data(as_text=True)
    assert "Confirmar mi lugar" in page.get_data(as_text=True)
    assert registration_status(db, pending["id"]) == "pending" and len(outbox_facts(db)) == count
    done = client.post(path)
    assert done.status_code == 200 and "Tu lugar está confirmado" in done.get_data(as_text=True)
    assert registration_status(db, pending["id"]) == "confirmed"
    facts = outbox_facts(db)[count:]
    assert types(facts) == ["registration.confirmed"]  # today's confirmation, with its invite
    assert facts[0]["data"]["registration"]["id"] == pending["id"]
    assert "confirm_url" not in facts[0]["data"]["registration"]
    assert client.post(path).status_code == 200  # a second click changes nothing
    assert len(outbox_facts(db)) == count + 1
    # Confirmed: the expirer leaves it alone; the seat is still taken.
    assert use_cases.expire_holds(db, links, utcnow() + 2 * HOLD) == 0
    assert registration_status(db, pending["id"]) == "confirmed"


def test_a_lapsed_hold_cannot_be_confirmed(registration_app, held_event, outbox_facts,
                                           registration_status, nothing_written):
    _, db, _ = registration_app
    pending = outbox_facts(db)[0]["data"]["registration"]
    path = urlsplit(pending["confirm_url"]).path
    late = at(registration_app, utcnow() + HOLD + timedelta(seconds=5))
    with nothing_written():
        page = late.get(path)
        assert page.status_code == 200 and "<form" not in page.get_data(as_text=True)
        refused = late.post(path)
    assert refused.status_code == 410 and "no está apartado" in refused.get_data(as_text=True)
    assert registration_status(db, pending["id"]) == "pending"  # the expirer will hand it on


@pytest.mark.parametrize("tamper", ["cancel-link", "garbled"])
def test_a_foreign_or_tampered_confirm_link_changes_nothing(
        registration_app, held_event, outbox_facts, nothing_written, tamper):
    client, db, _ = registration_app
    attendee = outbox_facts(db)[0]["data"]["registration"]
    token = urlsplit(attendee["cancel_url"]).path.rsplit("/", 1)[1]  # signed for cancelling
    if tamper == "garbled":
        token = tampered(urlsplit(attendee["confirm_url"]).path.rsplit("/", 1)[1])
    with nothing_written():
        response = client.post(f"/registrations/confirm/{token}")
    assert response.status_code == 400


def test_cancelling_a_hold_frees_its_seat_for_the_first_person_waiting(
        registration_app, held_event, outbox_facts, registration_status):
    client, db, _ = registration_app
    pending = outbox_facts(db)[0]["data"]["registration"]
    (first, second) = ids_of(outbox_facts(db), "registration.waitlisted")
    assert client.post(urlsplit(pending["cancel_url"]).path).status_code == 200
    assert types(outbox_facts(db))[-2:] == ["registration.cancelled", "registration.promoted"]
    assert [registration_status(db, i) for i in (pending["id"], first, second)] == [
        "cancelled", "confirmed", "waitlisted"]


def test_an_event_without_the_option_confirms_at_once(registration_app, make_event, register):
    event = make_event()
    assert event["confirm_by_email"] is False
    assert register(event["id"], 1).get_json()["status"] == "confirmed"
