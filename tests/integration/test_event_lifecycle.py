"""An event's life after registering (SQLite and PostgreSQL), read from the outbox: a change of
time or place reaches every attendee once, CHANGE_COALESCE after the first edit, with the
final state; cancelling and postponing tell everyone at once and close registration;
reminders go once per offset, only to those who registered before, never after the start.
Time is driven through the use cases' `now`, never by sleeping."""
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

from services.registration import announcements, checkin, timers
from services.registration.app import create_app
from services.registration.facts import Links
from shared.db import utcnow
from tests.integration.problems import assert_problem

COALESCE = timedelta(seconds=120)  # the default CHANGE_COALESCE
STARTS = datetime.fromisoformat("2031-05-31T16:00:00+00:00")  # OPEN_STARTS, in UTC
TOLD = ("registration.event_changed", "registration.event_cancelled",
        "registration.event_postponed")


@pytest.fixture
def links(registration_app):
    settings = registration_app[2]
    return Links(settings.public_base_url, settings.keys)


@pytest.fixture
def attended(make_event, register, registration_app):
    """An event of two seats: persons 1 and 2 confirmed, 3 waiting, 4 cancelled; returns
    (event, {n: registration id})."""
    client = registration_app[0]
    event = make_event(capacity=2)
    ids = {n: register(event["id"], n).get_json()["id"] for n in (1, 2, 3, 4)}
    assert client.post(_cancel_path(registration_app, ids[4])).status_code == 200
    return event, ids


def _cancel_path(registration_app, registration_id):
    settings = registration_app[2]
    return urlsplit(Links(settings.public_base_url, settings.keys).cancel(registration_id)).path


@pytest.fixture
def news(outbox_facts, registration_app):
    """news() -> the facts recorded since the last call, as [(type, registration id, data)]."""
    db, seen = registration_app[1], [len(outbox_facts(registration_app[1]))]

    def read():
        facts = outbox_facts(db)[seen[0]:]
        seen[0] += len(facts)
        return [(f["type"], f["data"]["registration"]["id"], f["data"]) for f in facts]

    return read


@pytest.fixture
def patch(registration_app, organiser_headers):
    def send(event_id, **body):
        return registration_app[0].patch(f"/api/v1/events/{event_id}", json=body,
                                         headers=organiser_headers)

    return send


@pytest.fixture
def call_off(registration_app, organiser_headers):
    def send(event_id, what, body):
        return registration_app[0].post(f"/api/v1/events/{event_id}/{what}", json=body,
                                        headers=organiser_headers)

    return send


@pytest.fixture
def send_changes(registration_app, links):
    """send_changes(after) -> attendees told, as the timers would `after` past now."""
    return lambda after: announcements.send_changes(registration_app[1], links, utcnow() + after,
                                                    COALESCE)


def _iso(text):
    return datetime.fromisoformat(text).isoformat()


# --- changes -------------------------------------------------------------------------------

def test_a_move_is_told_once_to_every_attendee_after_the_coalesce_window(
        registration_app, attended, patch, news, send_changes):
    event, ids = attended
    news()
    moved = patch(event["id"], starts_at="2031-06-07T10:00:00-06:00",
                  ends_at="2031-06-07T12:00:00-06:00", venue="Sala de Cabildo")
    assert moved.status_code == 200 and moved.get_json()["status"] == "rescheduled"
    assert news() == []  # nothing at once
    assert send_changes(COALESCE - timedelta(seconds=5)) == 0 and news() == []
    assert send_changes(COALESCE + timedelta(seconds=1)) == 3
    told = news()
    assert sorted((t, i) for t, i, _ in told) == sorted(
        ("registration.event_changed", ids[n]) for n in (1, 2, 3))  # not the cancelled one
    for _, _, data in told:
        assert data["changes"] == {
            "starts_at": {"old": _iso("2031-05-31T16:00:00+00:00"),
                          "new": _iso("2031-06-07T16:00:00+00:00")},
            "ends_at": {"old": _iso("2031-05-31T18:00:00+00:00"),
                        "new": _iso("2031-06-07T18:00:00+00:00")},
            "venue": {"old": "Salón del Séptimo piso", "new": "Sala de Cabildo"}}
        assert data["registration"]["invite_sequence"] == 1
        assert data["event"]["status"] == "rescheduled"
        assert data["event"]["venue"] == "Sala de Cabildo"
    assert send_changes(COALESCE * 10) == 0 and news() == []  # sent once

    patch(event["id"], venue="Auditorio")
    send_changes(COALESCE + timedelta(seconds=1))
    again = news()
    assert [d["registration"]["invite_sequence"] for _, _, d in again] == [2, 2, 2]
    assert again[0][2]["changes"] == {"venue": {"old": "Sala de Cabildo", "new": "Auditorio"}}


def test_three_quick_edits_send_one_change_with_the_final_state(
        attended, patch, news, send_changes):
    event, _ = attended
    news()
    for venue in ("Sala A", "Sala B", "Sala C"):
        assert patch(event["id"], venue=venue).status_code == 200
    patch(event["id"], online_url="https://meet.example.org/panel")
    send_changes(COALESCE + timedelta(seconds=1))
    told = news()
    assert len(told) == 3
    for _, _, data in told:
        assert data["changes"] == {
            "venue": {"old": "Salón del Séptimo piso", "new": "Sala C"},
            "online_url": {"old": "", "new": "https://meet.example.org/panel"}}
        assert data["event"]["status"] == "scheduled"  # the start did not move


def test_the_window_counts_from_the_first_edit(registration_app, attended, patch, news, links,
                                               organiser_headers):
    """Edits keep coming: the email still goes CHANGE_COALESCE after the first one."""
    event, _ = attended
    news()
    patch(event["id"], venue="Sala A")
    later = at_clock(registration_app, utcnow() + timedelta(seconds=100))
    assert later.patch(f"/api/v1/events/{event['id']}", json={"venue": "Sala B"},
                       headers=organiser_headers).status_code == 200
    assert announcements.send_changes(registration_app[1], links,
                                      utcnow() + COALESCE + timedelta(seconds=1), COALESCE) == 3
    assert {d["changes"]["venue"]["new"] for _, _, d in news()} == {"Sala B"}


def test_notify_false_tells_nobody(attended, patch, news, send_changes):
    event, _ = attended
    news()
    fixed = patch(event["id"], venue="Salón del Séptimo Piso", notify=False)
    assert fixed.status_code == 200 and fixed.get_json()["venue"] == "Salón del Séptimo Piso"
    assert "notify" not in fixed.get_json()
    assert send_changes(COALESCE * 10) == 0 and news() == []


def test_notify_false_does_not_cancel_a_real_move_pending(attended, patch, news, send_changes):
    event, _ = attended
    news()
    patch(event["id"], venue="Sala de Cabildo")
    patch(event["id"], venue="Sala de Cabildo 2", notify=False)  # a typo in the new venue
    send_changes(COALESCE + timedelta(seconds=1))
    assert {d["changes"]["venue"]["new"] for _, _, d in news()} == {"Sala de Cabildo 2"}


def test_moved_and_moved_back_tells_nobody(attended, patch, news, send_changes):
    event, _ = attended
    news()
    assert patch(event["id"], starts_at="2031-05-31T11:00:00-06:00").get_json()["status"] == (
        "rescheduled")
    back = patch(event["id"], starts_at="2031-05-31T10:00:00-06:00")
    assert back.status_code == 200
    assert send_changes(COALESCE + timedelta(seconds=1)) == 0 and news() == []
    assert patch(event["id"]).get_json()["status"] == "scheduled"  # no move after all


def test_a_field_that_is_not_notified_tells_nobody(attended, patch, news, send_changes):
    event, _ = attended
    news()
    assert patch(event["id"], category="Panel", capacity=5).status_code == 200
    assert [t for t, _, _ in news()] == ["registration.promoted"]  # the third person moves up
    assert send_changes(COALESCE * 10) == 0 and news() == []



# --- giving an event without a capacity one ------------------------------------------------

def test_an_event_given_a_capacity_counts_the_seats_its_registrations_hold(
        registration_app, make_event, register, patch):
    """Without a capacity no seats are counted; given one, the registrations that hold a
    seat are (not a cancelled one): a capacity below them is a 422, the seats left are what
    remains of it, and a registration past it waits. Taken away and given again, they are
    counted again."""
    client = registration_app[0]
    event = make_event(capacity=None)
    ids = {n: register(event["id"], n).get_json()["id"] for n in range(1, 6)}
    assert client.post(_cancel_path(registration_app, ids[5])).status_code == 200
    too_few = patch(event["id"], capacity=3)
    assert too_few.status_code == 422 and "below the 4 confirmed" in too_few.get_json()["detail"]
    assert patch(event["id"], capacity=5).get_json()["seats_left"] == 1
    assert [register(event["id"], n).get_json()["status"] for n in (6, 7)] == [
        "confirmed", "waitlisted"]
    assert patch(event["id"], capacity=None).get_json()["seats_left"] is None  # 7 moves up
    assert register(event["id"], 8).get_json()["status"] == "confirmed"
    assert patch(event["id"], capacity=10).get_json()["seats_left"] == 3  # 1-4, 6, 7, 8

# --- cancelling and postponing -----------------------------------------------------------

def test_cancelling_tells_everyone_at_once_and_closes_registration(
        registration_app, attended, call_off, patch, news, register, nothing_written):
    event, ids = attended
    news()
    patch(event["id"], venue="Sala A")  # pending: dropped, the cancellation supersedes it
    done = call_off(event["id"], "cancel", {"reason": {"es": "Por lluvia", "en": "Due to rain"}})
    assert done.status_code == 200
    body = done.get_json()
    assert (body["status"], body["status_reason"]) == (
        "cancelled", {"es": "Por lluvia", "en": "Due to rain"})
    assert body["registration_open"] is False
    told = news()
    assert sorted((t, i) for t, i, _ in told) == sorted(
        ("registration.event_cancelled", ids[n]) for n in (1, 2, 3))
    for _, _, data in told:
        assert data["reason"] == {"es": "Por lluvia", "en": "Due to rain"}
        assert data["registration"]["invite_sequence"] == 1
        assert data["event"]["status"] == "cancelled"
    with nothing_written():
        assert_problem(register(event["id"], 9), 409)
        assert_problem(call_off(event["id"], "cancel", {"reason": "Otra vez"}), 409)
        assert_problem(call_off(event["id"], "postpone", {"reason": "Otra vez"}), 409)
        assert_problem(patch(event["id"], starts_at="2031-06-07T10:00:00-06:00",
                             ends_at="2031-06-07T12:00:00-06:00"), 409)
        assert_problem(patch(event["id"], online_url="https://meet.example.org/x"), 409)
    assert patch(event["id"], category="Panel").status_code == 200  # not notified: allowed
    assert announcements.send_changes(registration_app[1], Links(
        registration_app[2].public_base_url, registration_app[2].keys),
        utcnow() + COALESCE * 10, COALESCE) == 0
    assert news() == []


def test_a_plain_string_reason_is_the_spanish(attended, call_off, news):
    event, _ = attended
    news()
    done = call_off(event["id"], "cancel", {"reason": "  Por lluvia  "})
    assert done.get_json()["status_reason"] == {"es": "Por lluvia", "en": None}
    assert {d["reason"]["es"] for _, _, d in news()} == {"Por lluvia"}


def test_postponed_then_a_new_date_reschedules_and_opens_again(
        registration_app, attended, call_off, patch, news, register, send_changes):
    event, ids = attended
    news()
    done = call_off(event["id"], "postpone", {"reason": {"es": "Sin sede", "en": None}})
    assert done.status_code == 200 and done.get_json()["status"] == "postponed"
    assert done.get_json()["registration_open"] is False
    assert {t for t, _, _ in news()} == {"registration.event_postponed"}
    assert_problem(register(event["id"], 9), 409)
    assert_problem(call_off(event["id"], "postpone", {"reason": "Otra vez"}), 409)

    moved = patch(event["id"], starts_at="2031-07-05T10:00:00-06:00",
                  ends_at="2031-07-05T12:00:00-06:00")
    assert moved.get_json()["status"] == "rescheduled"
    assert moved.get_json()["registration_open"] is True
    assert register(event["id"], 9).get_json()["status"] == "waitlisted"  # open again: in line
    news()
    send_changes(COALESCE + timedelta(seconds=1))
    told = news()
    assert {t for t, _, _ in told} == {"registration.event_changed"}
    assert len(told) == 4  # and the newcomer waiting
    by_id = {i: d for _, i, d in told}
    assert by_id[ids[1]]["registration"]["invite_sequence"] == 2  # postponed, then moved
    assert set(by_id[ids[1]]["changes"]) == {"starts_at", "ends_at"}


def test_a_cancellation_says_what_the_registration_held(registration_app, attended, make_event,
                                                       register, outbox_facts):
    """`cancelled_from`: only a confirmed seat was sent an invite, which its email withdraws."""
    event, ids = attended
    client = registration_app[0]
    held = register(make_event(confirm_by_email=True)["id"], 5).get_json()["id"]
    for registration_id in (ids[1], held):
        assert client.post(_cancel_path(registration_app, registration_id)).status_code == 200
    told = {f["data"]["registration"]["id"]: f["data"]["cancelled_from"]
            for f in outbox_facts(registration_app[1]) if f["type"] == "registration.cancelled"}
    assert told == {ids[4]: "waitlisted", ids[1]: "confirmed", held: "pending"}


def test_a_cancelled_event_frees_no_seat_and_promotes_nobody(
        registration_app, attended, call_off, news, registration_status):
    event, ids = attended
    call_off(event["id"], "cancel", {"reason": "Por lluvia"})
    news()
    assert registration_app[0].post(_cancel_path(registration_app, ids[1])).status_code == 200
    assert [t for t, _, _ in news()] == ["registration.cancelled"]  # nobody promoted
    assert registration_status(registration_app[1], ids[3]) == "waitlisted"


def test_only_the_owner_or_an_admin_calls_an_event_off(
        registration_app, attended, new_token, bearer, nothing_written):
    client, db, _ = registration_app
    event, _ = attended
    other = bearer(new_token(db, {"events:write"}, name="other"))
    with nothing_written():
        assert_problem(client.post(f"/api/v1/events/{event['id']}/cancel",
                                   json={"reason": "x"}, headers=other), 403)
        assert_problem(client.post(f"/api/v1/events/{event['id']}/cancel",
                                   json={"reason": "x"}), 401)
        assert_problem(client.post("/api/v1/events/999999/cancel", json={"reason": "x"},
                                   headers=bearer(new_token(db, {"events:admin"}))), 404)
    admin = bearer(new_token(db, {"events:admin"}, name="admin"))
    assert client.post(f"/api/v1/events/{event['id']}/postpone", json={"reason": "x"},
                       headers=admin).status_code == 200


# --- bad bodies ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"status": "cancelled"}, "status"),
    ({"status": "nonsense"}, "status"),
    ({"status_reason": {"es": "x"}}, "status_reason"),
    ({"reminders": ["P1X"]}, "reminders"),
    ({"reminders": ["P1M"]}, "reminders"),  # months vary: not a fixed time
    ({"reminders": ["PT0S"]}, "reminders"),
    ({"reminders": ["P60D"]}, "reminders"),
    ({"reminders": ["P1D", "PT24H"]}, "reminders"),
    ({"reminders": ["P1D", "P2D", "P3D", "P4D", "P5D", "P6D"]}, "reminders"),
    ({"reminders": "P1D"}, "reminders"),
    ({"reminders": [1]}, "reminders"),
    ({"online_url": "ftp://example.org/panel"}, "online_url"),
    ({"online_url": "javascript:alert(1)"}, "online_url"),
    ({"online_url": "https://example.org/" + "a" * 500}, "online_url"),
    ({"notify": "maybe"}, "notify"),
])
def test_bad_event_fields_are_a_422_and_change_nothing(
        registration_app, attended, patch, body, field, nothing_written):
    event, _ = attended
    before = registration_app[0].get(f"/api/v1/events/{event['id']}").get_json()
    with nothing_written():
        assert_problem(patch(event["id"], **body), 422, field)
    assert registration_app[0].get(f"/api/v1/events/{event['id']}").get_json() == before


def test_notify_is_only_for_a_patch(registration_app, future_event, organiser_headers,
                                    nothing_written):
    with nothing_written():
        assert_problem(registration_app[0].post(
            "/api/v1/events", json=future_event(notify=False), headers=organiser_headers),
            422, "notify")


@pytest.mark.parametrize("body", [
    {},
    {"reason": ""},
    {"reason": "   "},
    {"reason": 5},
    {"reason": ["Por lluvia"]},
    {"reason": {"en": "Rain"}},
    {"reason": {"es": ""}},
    {"reason": {"es": "Lluvia", "en": 5}},
    {"reason": {"es": "Lluvia", "fr": "Pluie"}},
    {"reason": {"es": "x" * 1001}},
    {"reason": "Lluvia", "notify": False},
])
@pytest.mark.parametrize("what", ["cancel", "postpone"])
def test_bad_reasons_are_a_422_and_change_nothing(
        registration_app, attended, call_off, body, what, nothing_written):
    event, _ = attended
    with nothing_written():
        problem = assert_problem(call_off(event["id"], what, body), 422)
    assert problem["errors"]
    assert registration_app[0].get(f"/api/v1/events/{event['id']}").get_json()["status"] == (
        "scheduled")


def test_reminders_and_the_online_link_are_kept_as_given(make_event, patch):
    event = make_event(reminders=["p2d", "PT30M"], online_url="https://meet.example.org/x")
    assert (event["reminders"], event["online_url"]) == (["P2D", "PT30M"],
                                                         "https://meet.example.org/x")
    assert patch(event["id"], reminders=None, online_url="").get_json()[
        "reminders"] is None  # back to REMINDERS
    assert patch(event["id"], reminders=[]).get_json()["reminders"] == []  # none at all


# --- reminders -----------------------------------------------------------------------------

@pytest.fixture
def send_reminders(registration_app, links):
    """send_reminders(at) -> attendees reminded by a timers round at `at` (REMINDERS default)."""
    settings = registration_app[2]
    return lambda at: announcements.send_reminders(registration_app[1], links, at,
                                                   settings.reminders)


def at_clock(registration_app, moment):
    """A client of the same app whose clock says `moment`."""
    _, db, settings = registration_app
    return create_app(settings, db=db, clock=lambda: moment).test_client()


@pytest.fixture
def register_at(registration_app, person, new_token, bearer):
    """register_at(moment, event_id, n) -> a kiosk's registration made when the clock says
    `moment` (with a token made then: tokens expire)."""
    def post(moment, event_id, n):
        headers = bearer(new_token(registration_app[1], {"registrations:write"}, now=moment))
        return at_clock(registration_app, moment).post(
            f"/api/v1/events/{event_id}/registrations", json=person(n), headers=headers)

    return post


def test_a_reminder_goes_once_to_the_confirmed_who_registered_before_it(
        attended, send_reminders, news, register_at):
    event, ids = attended
    day_before = STARTS - timedelta(days=1)
    late = register_at(day_before + timedelta(hours=1), event["id"], 5)
    news()
    assert send_reminders(day_before - timedelta(minutes=1)) == 0  # not yet
    assert send_reminders(day_before + timedelta(hours=2)) == 2
    told = news()
    assert sorted(i for _, i, _ in told) == sorted([ids[1], ids[2]])  # not waiting, cancelled
    for fact_type, _, data in told:
        assert fact_type == "registration.reminder"
        assert data["reminder"] == {"offset": "P1D", "due_at": day_before.isoformat()}
        assert data["registration"]["invite_sequence"] == 0  # same revision of the entry
        assert data["registration"]["checkin_code"]
    assert late.get_json()["status"] == "waitlisted"
    assert send_reminders(day_before + timedelta(hours=3)) == 0 and news() == []  # once
    two_hours = STARTS - timedelta(hours=2)
    assert send_reminders(two_hours) == 2
    assert {d["reminder"]["offset"] for _, _, d in news()} == {"PT2H"}


def test_a_late_registrant_gets_only_the_reminders_still_to_come(
        make_event, send_reminders, news, register_at):
    event = make_event(capacity=None)
    day_before = STARTS - timedelta(days=1)
    late = register_at(day_before + timedelta(hours=1), event["id"], 5)
    assert late.get_json()["status"] == "confirmed"
    news()
    assert send_reminders(day_before + timedelta(hours=2)) == 0  # registered after the P1D time
    assert send_reminders(STARTS - timedelta(hours=1)) == 1
    assert [(i, d["reminder"]["offset"]) for _, i, d in news()] == [
        (late.get_json()["id"], "PT2H")]


def test_after_an_outage_only_the_nearest_reminder_goes_and_never_after_the_start(
        attended, send_reminders, news):
    news()
    assert send_reminders(STARTS + timedelta(minutes=1)) == 0  # started: too late
    assert send_reminders(STARTS - timedelta(hours=1)) == 2  # P1D and PT2H both due: one email
    assert {d["reminder"]["offset"] for _, _, d in news()} == {"PT2H"}
    assert send_reminders(STARTS - timedelta(minutes=30)) == 0


def test_no_reminder_for_a_cancelled_or_postponed_event(
        make_event, register, call_off, send_reminders, news):
    for what in ("cancel", "postpone"):
        event = make_event()
        register(event["id"], 1)
        call_off(event["id"], what, {"reason": "Por lluvia"})
    news()
    assert send_reminders(STARTS - timedelta(hours=1)) == 0 and news() == []


def test_an_event_may_set_its_own_reminders_or_none(make_event, register, send_reminders, news):
    own = make_event(reminders=["PT30M"])
    none = make_event(reminders=[])
    for event in (own, none):
        register(event["id"], 1)
    news()
    assert send_reminders(STARTS - timedelta(hours=1)) == 0  # neither has a PT2H
    assert send_reminders(STARTS - timedelta(minutes=20)) == 1
    assert [(d["event"]["id"], d["reminder"]["offset"]) for _, _, d in news()] == [
        (own["id"], "PT30M")]


def test_the_reminder_follows_a_move(attended, patch, send_reminders, send_changes, news,
                                     registration_app, links):
    event, _ = attended
    day_before = STARTS - timedelta(days=1)
    assert send_reminders(day_before + timedelta(minutes=1)) == 2
    patch(event["id"], starts_at="2031-06-07T10:00:00-06:00", ends_at="2031-06-07T12:00:00-06:00")
    # While the change waits to go out, no reminder: the change email comes first.
    new_day_before = STARTS + timedelta(days=6)
    assert send_reminders(new_day_before + timedelta(minutes=1)) == 0
    assert announcements.send_changes(registration_app[1], links, day_before + timedelta(hours=1),
                                      COALESCE) == 3
    news()
    assert send_reminders(new_day_before - timedelta(minutes=1)) == 0
    assert send_reminders(new_day_before + timedelta(minutes=1)) == 2
    assert {d["reminder"]["due_at"] for _, _, d in news()} == {new_day_before.isoformat()}


def test_two_sweepers_at_once_remind_once(registration_app, make_event, register, links,
                                          outbox_facts):
    """Eight timers rounds in threads, each with its own connections: one reminder per
    attendee (the event's lock, and the event_reminders row as the claim)."""
    event = make_event(capacity=None)
    for n in range(1, 6):
        register(event["id"], n)
    moment, barrier, counts = STARTS - timedelta(hours=1), threading.Barrier(8), []

    def sweeper():
        barrier.wait()
        counts.append(announcements.send_reminders(registration_app[1], links, moment,
                                                   ("P1D", "PT2H")))

    threads = [threading.Thread(target=sweeper) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reminders = [f for f in outbox_facts(registration_app[1]) if f["type"] == "registration.reminder"]
    assert sum(counts) == 5 and len(reminders) == 5
    assert len({f["data"]["registration"]["id"] for f in reminders}) == 5


def test_two_sweepers_at_once_tell_a_change_once(registration_app, attended, patch, links,
                                                 outbox_facts):
    event, _ = attended
    patch(event["id"], venue="Sala de Cabildo")
    moment, barrier, counts = utcnow() + COALESCE * 2, threading.Barrier(8), []

    def sweeper():
        barrier.wait()
        counts.append(announcements.send_changes(registration_app[1], links, moment, COALESCE))

    threads = [threading.Thread(target=sweeper) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    changed = [f for f in outbox_facts(registration_app[1])
               if f["type"] == "registration.event_changed"]
    assert sum(counts) == 3 and len(changed) == 3
    assert {f["data"]["registration"]["invite_sequence"] for f in changed} == {1}


def test_one_timers_round_expires_tells_and_reminds(registration_app, attended, patch, links,
                                                    news):
    """The timers process's round runs every step: a change due goes out, then (the change
    told) the reminders due; the next round has nothing left to send."""
    event, _ = attended
    patch(event["id"], venue="Sala de Cabildo")
    news()
    settings = replace(registration_app[2], change_coalesce=0.0)
    timers.run_once(registration_app[1], links, settings, STARTS - timedelta(hours=1))
    assert [t for t, _, _ in news()] == ["registration.event_changed"] * 3 + [
        "registration.reminder"] * 2
    timers.run_once(registration_app[1], links, settings, STARTS - timedelta(hours=1))
    assert news() == []


def test_walk_ins_hear_of_no_change_or_reminder(registration_app, attended, patch, news,
                                                 send_changes, send_reminders):
    """Added at the door, some with no address: a later move or reminder emails them not."""
    event, ids = attended
    day_before = STARTS - timedelta(days=1)
    door = checkin.walk_in(registration_app[1], event["id"], {
        "name": "Sin correo", "sector": "citizen", "organization": "", "language": "es"},
        day_before - timedelta(days=3)).registration
    news()
    assert send_reminders(day_before + timedelta(minutes=1)) == 2
    assert patch(event["id"], venue="Otra sala").status_code == 200
    send_changes(timedelta(hours=1))
    told = {registration_id for _, registration_id, _ in news()}
    assert ids[1] in told and door.id not in told
