"""The rules of the door (checkin_rules), on plain objects."""
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from services.registration import checkin_rules as rules
from services.registration import domain

NOW = datetime(2031, 5, 31, 16, 2, tzinfo=timezone.utc)


def person(status="confirmed", checked_in_at=None, walk_in=False, event_id=1):
    return SimpleNamespace(id=7, name="Ana", event_id=event_id, status=status, walk_in=walk_in,
                           checked_in_at=checked_in_at, held_until=None, cancelled_at=None)


def test_a_confirmed_registration_goes_in_once():
    assert rules.admit(person(), 1) == rules.CHECKED_IN
    assert rules.admit(person(checked_in_at=NOW), 1) == rules.ALREADY_CHECKED_IN


@pytest.mark.parametrize("status", ["cancelled", "waitlisted", "pending", "expired"])
def test_no_seat_no_entry_and_the_refusal_says_whose(status):
    with pytest.raises(rules.NoSeat) as refused:
        rules.admit(person(status), 1)
    assert refused.value.result == status
    assert refused.value.registration == {"id": 7, "name": "Ana", "status": status}


def test_another_events_registration_is_not_named():
    with pytest.raises(rules.NotForThisEvent) as refused:
        rules.admit(person(event_id=2), 1)
    assert refused.value.result == "not_for_this_event" and refused.value.registration is None


def test_at_the_door_a_lapsed_registration_becomes_a_walk_in_and_a_hold_a_seat():
    for status in ("cancelled", "expired", "waitlisted"):
        registration = person(status)
        assert rules.let_in(registration, NOW) == rules.CHECKED_IN
        assert (registration.status, registration.walk_in, registration.checked_in_at) == (
            "confirmed", True, NOW)
    held = person("pending")
    assert rules.let_in(held, NOW) == rules.CHECKED_IN and not held.walk_in
    assert rules.let_in(person(checked_in_at=NOW), NOW) == rules.ALREADY_CHECKED_IN


def test_cancelling_a_walk_in_frees_no_seat_it_never_took():
    event = SimpleNamespace(capacity=10, confirmed_count=3)
    domain.cancel(event, person(walk_in=True), NOW)
    assert event.confirmed_count == 3
    domain.cancel(event, person(), NOW)
    assert event.confirmed_count == 2


def test_a_walk_in_key_is_never_an_address():
    assert rules.walk_in_key("abc").startswith("walk-in:") and "@" not in rules.walk_in_key("abc")
