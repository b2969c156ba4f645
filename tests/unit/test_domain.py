"""The registration rules on plain objects: seats, the waiting list, cancelling, the window."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.registration import domain, lifecycle
from services.registration.models import Event, Registration
from shared.errors import status_of
from shared.schemas import normalize_email

CHIHUAHUA = ZoneInfo("America/Chihuahua")
STARTS = datetime(2031, 5, 31, 10, 0, tzinfo=CHIHUAHUA)
ENDS = datetime(2031, 5, 31, 12, 0, tzinfo=CHIHUAHUA)
BEFORE = datetime(2031, 5, 1, 9, 0, tzinfo=CHIHUAHUA)


def event(capacity=2, confirmed_count=0, **overrides):
    fields = dict(title="Panel", starts_at=STARTS, ends_at=ENDS, registration_closes_at=STARTS,
                  timezone="America/Chihuahua", host_organization="Municipio de Chihuahua",
                  capacity=capacity, confirmed_count=confirmed_count)
    return Event(**{**fields, **overrides})


def person(n, status=None):
    return Registration(id=n, name=f"Persona {n}", email=f"p{n}@example.org",
                        email_key=f"p{n}@example.org", sector="citizen", language="es",
                        status=status)


def register_all(ev, count, now=BEFORE):
    people = [person(n) for n in range(1, count + 1)]
    facts = [domain.register(ev, p, now) for p in people]
    return people, facts


def test_registrations_are_confirmed_until_the_event_is_full_then_waitlisted():
    """The first `capacity` people get a seat; the next ones are told they are waiting."""
    ev = event(capacity=2)
    people, facts = register_all(ev, 4)
    assert facts == ["registration.confirmed", "registration.confirmed",
                     "registration.waitlisted", "registration.waitlisted"]
    assert [p.status for p in people] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert ev.confirmed_count == 2 and domain.seats_left(ev) == 0


def test_unlimited_capacity_confirms_everyone():
    """An event without a capacity never has a waiting list, and counts no seats (there is
    no limit to keep them under: they are counted when it is given a capacity)."""
    ev = event(capacity=None)
    people, facts = register_all(ev, 50)
    assert set(facts) == {"registration.confirmed"}
    assert ev.confirmed_count == 0 and domain.seats_left(ev) is None
    assert domain.cancel(ev, people[0], BEFORE) == "registration.cancelled"
    assert ev.confirmed_count == 0


def test_seats_left_never_goes_negative():
    """An event over its capacity shows zero seats, not a negative number."""
    assert domain.seats_left(event(capacity=2, confirmed_count=5)) == 0


def test_promote_gives_the_seats_to_the_first_waiting_in_order():
    """With two seats freed, the two people waiting longest move up; the third keeps waiting."""
    ev = event(capacity=4, confirmed_count=2)
    waitlist = [person(n, "waitlisted") for n in (3, 4, 5)]
    promoted = domain.promote(ev, waitlist)
    assert [p.id for p in promoted] == [3, 4]
    assert [p.status for p in waitlist] == ["confirmed", "confirmed", "waitlisted"]
    assert ev.confirmed_count == 4


def test_promote_with_no_free_seat_moves_nobody():
    """A full event promotes nobody."""
    ev = event(capacity=2, confirmed_count=2)
    waitlist = [person(3, "waitlisted")]
    assert domain.promote(ev, waitlist) == []
    assert waitlist[0].status == "waitlisted"


def test_promote_on_unlimited_capacity_moves_everyone_up():
    """Removing the capacity confirms the whole waiting list (and counts no seats)."""
    ev = event(capacity=None)
    waitlist = [person(n, "waitlisted") for n in (3, 4)]
    assert [p.id for p in domain.promote(ev, waitlist)] == [3, 4]
    assert ev.confirmed_count == 0


def test_cancelling_a_confirmed_registration_frees_a_seat():
    """Cancelling a seat returns the fact and gives the seat back, which promotion then fills."""
    ev = event(capacity=1)
    (first, second), _ = register_all(ev, 2)
    assert domain.cancel(ev, first, BEFORE) == "registration.cancelled"
    assert first.status == "cancelled" and first.cancelled_at == BEFORE
    assert ev.confirmed_count == 0 and domain.seats_left(ev) == 1
    assert domain.promote(ev, [second]) == [second]
    assert second.status == "confirmed" and ev.confirmed_count == 1


def test_cancelling_twice_returns_nothing_the_second_time():
    """A repeated click on the cancel button changes nothing and records no new fact."""
    ev = event(capacity=1)
    (first,), _ = register_all(ev, 1)
    domain.cancel(ev, first, BEFORE)
    assert domain.cancel(ev, first, BEFORE + timedelta(minutes=1)) is None
    assert ev.confirmed_count == 0 and first.cancelled_at == BEFORE


def test_cancelling_a_waitlisted_registration_keeps_the_confirmed_count():
    """Leaving the waiting list frees no seat."""
    ev = event(capacity=1)
    (_, waiting), _ = register_all(ev, 2)
    assert domain.cancel(ev, waiting, BEFORE) == "registration.cancelled"
    assert waiting.status == "cancelled"
    assert ev.confirmed_count == 1 and domain.seats_left(ev) == 0


def test_registration_is_open_until_registration_closes():
    """Before the close one can register; at the close and after, it is closed."""
    ev = event()
    assert domain.registration_open(ev, STARTS - timedelta(seconds=1))
    assert not domain.registration_open(ev, STARTS)
    with pytest.raises(domain.RegistrationClosed):
        domain.register(ev, person(1), STARTS)
    assert ev.confirmed_count == 0


def test_registration_is_closed_after_the_event_ends_even_if_the_close_is_later():
    """An event that has ended takes no registrations, whatever its close time says."""
    ev = event(registration_closes_at=ENDS + timedelta(days=1))
    assert domain.registration_open(ev, ENDS - timedelta(seconds=1))
    assert not domain.registration_open(ev, ENDS)
    assert not domain.registration_open(ev, ENDS + timedelta(hours=1))


def test_closed_registration_is_a_409():
    """The HTTP layer answers a closed registration with 409 Conflict."""
    assert status_of(domain.RegistrationClosed("x")) == 409
    assert status_of(domain.InvalidEvent("x")) == 422


def test_a_sensible_schedule_passes():
    """Start before end, close before end, a real zone and enough capacity: no complaint."""
    domain.check_schedule(event(capacity=3, confirmed_count=3, registration_closes_at=ENDS))


@pytest.mark.parametrize("overrides, words", [
    (dict(ends_at=STARTS - timedelta(hours=1)), "ends_at"),
    (dict(ends_at=STARTS), "ends_at"),
    (dict(registration_closes_at=ENDS + timedelta(minutes=1)), "registration_closes_at"),
    (dict(timezone="Mars/Olympus_Mons"), "timezone"),
    (dict(timezone="../../etc/passwd"), "timezone"),
    (dict(capacity=1, confirmed_count=2), "capacity"),
], ids=["ends-before-starts", "ends-at-starts", "closes-after-ends", "unknown-zone",
        "path-zone", "capacity-below-confirmed"])
def test_check_schedule_rejects_impossible_events(overrides, words):
    """Each inconsistent event is refused with a 422 message naming the field."""
    with pytest.raises(domain.InvalidEvent) as error:
        domain.check_schedule(event(**overrides))
    assert words in error.value.detail
    assert status_of(error.value) == 422


@pytest.mark.parametrize("raw", ["ana@x.org", "Ana@X.org", "  ANA@x.ORG ", "\tana@x.org\n"])
def test_normalize_email_makes_one_key_per_person(raw):
    """Case and surrounding whitespace do not make a second registration."""
    assert normalize_email(raw) == "ana@x.org"


# --- seats held until confirmed by email (confirm_by_email) ---------------------------------

HOLD = timedelta(minutes=30)


def test_on_a_confirm_by_email_event_a_seat_is_held_pending_and_counts_against_capacity():
    ev = event(capacity=1, confirm_by_email=True)
    holder, waiting = person(1), person(2)
    assert domain.register(ev, holder, BEFORE, HOLD) == "registration.pending"
    assert (holder.status, holder.held_until) == ("pending", BEFORE + HOLD)
    assert domain.seats_left(ev) == 0
    assert domain.register(ev, waiting, BEFORE, HOLD) == "registration.waitlisted"
    assert waiting.held_until is None


def test_confirming_in_time_confirms_once():
    ev = event(capacity=1, confirm_by_email=True)
    holder = person(1)
    domain.register(ev, holder, BEFORE, HOLD)
    assert domain.confirm(ev, holder, BEFORE + HOLD - timedelta(seconds=1)) == "registration.confirmed"
    assert (holder.status, holder.held_until, ev.confirmed_count) == ("confirmed", None, 1)
    assert domain.confirm(ev, holder, BEFORE + HOLD) is None  # a second click
    assert domain.expire(ev, holder, BEFORE + 2 * HOLD) is None  # nothing to expire
    assert ev.confirmed_count == 1


@pytest.mark.parametrize("status", ["waitlisted", "cancelled", "expired"])
def test_only_a_pending_hold_in_time_can_be_confirmed(status):
    ev = event(capacity=1, confirm_by_email=True)
    lapsed = person(1)
    domain.register(ev, lapsed, BEFORE, HOLD)
    with pytest.raises(domain.HoldLapsed):
        domain.confirm(ev, lapsed, BEFORE + HOLD)
    other = person(2, status=status)
    with pytest.raises(domain.HoldLapsed):
        domain.confirm(ev, other, BEFORE)


def test_a_lapsed_hold_expires_frees_its_seat_and_may_register_again():
    ev = event(capacity=1, confirm_by_email=True)
    holder = person(1)
    domain.register(ev, holder, BEFORE, HOLD)
    assert domain.expire(ev, holder, BEFORE + HOLD - timedelta(seconds=1)) is None
    assert domain.expire(ev, holder, BEFORE + HOLD) == "registration.expired"
    assert (holder.status, ev.confirmed_count) == ("expired", 0)
    assert not domain.is_repeat(holder)
    assert domain.cancel(ev, holder, BEFORE + HOLD) is None  # no more facts about them


def test_cancelling_a_hold_frees_its_seat():
    ev = event(capacity=1, confirm_by_email=True)
    holder = person(1)
    domain.register(ev, holder, BEFORE, HOLD)
    assert domain.cancel(ev, holder, BEFORE) == "registration.cancelled"
    assert (holder.status, holder.held_until, ev.confirmed_count) == ("cancelled", None, 0)


def test_promotion_on_a_confirm_by_email_event_confirms_directly():
    ev = event(capacity=1, confirm_by_email=True, confirmed_count=0)
    waiting = [person(1, status="waitlisted"), person(2, status="waitlisted")]
    assert domain.promote(ev, waiting) == [waiting[0]]
    assert waiting[0].status == "confirmed" and waiting[1].status == "waitlisted"


def test_a_standing_registration_is_a_repeat_an_ended_one_is_not():
    assert [domain.is_repeat(person(1, status=s)) for s in (
        "confirmed", "waitlisted", "pending", "cancelled", "expired")] == [
        True, True, True, False, False]


# --- the event's life after publishing (lifecycle.py) ---------------------------------------

def edited(ev, notify=True, now=BEFORE, **changes):
    """Apply `changes` as a PATCH does; return what after_edit said."""
    before = lifecycle.notified_state(ev)
    for name, value in changes.items():
        setattr(ev, name, value)
    return lifecycle.after_edit(ev, before, notify, now)


def test_a_notified_change_waits_from_the_first_edit_with_what_attendees_last_heard():
    ev = event(status="scheduled")
    edited(ev, venue="Sala A")
    edited(ev, now=BEFORE + timedelta(minutes=1), venue="Sala B")
    assert ev.change_pending_since == BEFORE  # the first edit's time
    assert ev.change_before["venue"] == "" and ev.change_before["status"] == "scheduled"
    assert not lifecycle.change_due(ev, BEFORE + timedelta(seconds=119), timedelta(seconds=120))
    assert lifecycle.change_due(ev, BEFORE + timedelta(seconds=120), timedelta(seconds=120))
    assert lifecycle.take_changes(ev) == {"venue": {"old": "", "new": "Sala B"}}
    assert (ev.change_pending_since, ev.change_before) == (None, None)


def test_times_are_told_in_utc_and_a_move_reschedules():
    ev = event(status="scheduled")
    edited(ev, starts_at=STARTS + timedelta(days=7), ends_at=ENDS + timedelta(days=7))
    assert ev.status == "rescheduled"
    changes = lifecycle.take_changes(ev)
    assert changes["starts_at"] == {"old": "2031-05-31T16:00:00+00:00",
                                    "new": "2031-06-07T16:00:00+00:00"}
    assert set(changes) == {"starts_at", "ends_at"}


def test_a_field_changed_and_changed_back_is_no_change_and_no_move():
    ev = event(status="scheduled")
    edited(ev, starts_at=STARTS + timedelta(hours=1), ends_at=ENDS + timedelta(hours=1))
    edited(ev, starts_at=STARTS, ends_at=ENDS)
    assert ev.status == "rescheduled"
    assert lifecycle.take_changes(ev) == {}
    assert ev.status == "scheduled"


def test_notify_false_schedules_nothing_but_keeps_a_pending_change():
    ev = event(status="scheduled")
    assert edited(ev, notify=False, venue="Sala A") is True  # reminders follow at once
    assert ev.change_pending_since is None and ev.status == "scheduled"
    edited(ev, venue="Sala B")
    assert edited(ev, notify=False, venue="Sala C") is False
    assert lifecycle.take_changes(ev) == {"venue": {"old": "Sala A", "new": "Sala C"}}


def test_an_edit_of_no_notified_field_changes_nothing_of_the_life():
    ev = event(status="scheduled")
    assert edited(ev, capacity=10, category="Panel") is False
    assert ev.change_pending_since is None and ev.status == "scheduled"


def test_cancelling_is_final_and_postponing_closes_until_a_new_date():
    ev = event(status="scheduled", change_pending_since=BEFORE, change_before={"venue": "x"})
    lifecycle.call_off(ev, "postponed", {"es": "Sin sede", "en": None}, BEFORE)
    assert (ev.status, ev.change_pending_since, ev.change_before) == ("postponed", None, None)
    assert not domain.registration_open(ev, BEFORE)
    with pytest.raises(lifecycle.AlreadyPostponed):
        lifecycle.call_off(ev, "postponed", {"es": "Otra", "en": None}, BEFORE)
    edited(ev, notify=False, starts_at=STARTS + timedelta(days=30), ends_at=ENDS + timedelta(days=30))
    assert ev.status == "rescheduled" and domain.registration_open(ev, BEFORE)
    lifecycle.call_off(ev, "cancelled", {"es": "Por lluvia", "en": "Rain"}, BEFORE)
    assert not domain.registration_open(ev, BEFORE)
    for call in (lambda: lifecycle.call_off(ev, "cancelled", {"es": "x", "en": None}, BEFORE),
                 lambda: lifecycle.call_off(ev, "postponed", {"es": "x", "en": None}, BEFORE),
                 lambda: edited(ev, venue="Otra sala")):
        with pytest.raises(lifecycle.EventCancelled):
            call()
    assert status_of(lifecycle.EventCancelled("x")) == 409


def test_an_event_over_cannot_be_called_off():
    with pytest.raises(lifecycle.EventOver):
        lifecycle.call_off(event(status="scheduled"), "cancelled", {"es": "x", "en": None}, ENDS)
    assert status_of(lifecycle.EventOver("x")) == 409


def test_nobody_moves_up_or_confirms_while_the_event_is_called_off():
    ev = event(capacity=1, status="postponed")
    assert domain.promote(ev, [person(1, status="waitlisted")]) == []
    ev = event(capacity=1, confirm_by_email=True, status="cancelled", confirmed_count=1)
    holder = person(1, status="pending")
    holder.held_until = BEFORE + HOLD
    with pytest.raises(domain.RegistrationClosed):
        domain.confirm(ev, holder, BEFORE)


REMINDERS = ("P1D", "PT2H")


def test_a_reminder_is_due_from_its_time_until_the_start():
    ev = event(status="scheduled")
    assert lifecycle.reminders_due(ev, REMINDERS, set(), STARTS - timedelta(days=2)) == []
    assert lifecycle.reminders_due(ev, REMINDERS, set(), STARTS - timedelta(hours=23)) == [
        ("P1D", STARTS - timedelta(days=1), True)]
    assert lifecycle.reminders_due(ev, REMINDERS, {86400}, STARTS - timedelta(hours=23)) == []
    assert lifecycle.reminders_due(ev, REMINDERS, set(), STARTS) == []  # started: too late


def test_after_an_outage_only_the_nearest_reminder_is_sent():
    ev = event(status="scheduled")
    assert lifecycle.reminders_due(ev, REMINDERS, set(), STARTS - timedelta(hours=1)) == [
        ("PT2H", STARTS - timedelta(hours=2), True), ("P1D", STARTS - timedelta(days=1), False)]


@pytest.mark.parametrize("overrides", [
    {"status": "cancelled"}, {"status": "postponed"}, {"change_pending_since": BEFORE},
    {"reminders": []}, {"reminders": ["PT30M"]}])
def test_no_reminder_due_while_called_off_pending_a_change_or_not_set(overrides):
    ev = event(**{"status": "scheduled", **overrides})
    assert lifecycle.reminders_due(ev, REMINDERS, set(), STARTS - timedelta(hours=1)) == []
