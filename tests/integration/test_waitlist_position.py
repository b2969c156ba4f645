"""The waiting-list email says the place in line: registration counts those waiting ahead
when it records `registration.waitlisted`, and only then (both backends)."""
from datetime import datetime, timezone

from services.registration import service as use_cases
from services.registration.facts import Links


def positions(facts):
    return {fact["data"]["registration"]["email"]: fact["data"]["registration"].get(
        "waitlist_position") for fact in facts if fact["type"] == "registration.waitlisted"}


def test_each_person_waiting_hears_their_place_in_line(
        registration_app, make_event, register, register_anonymously, outbox_facts):
    _, db, settings = registration_app
    event = make_event(capacity=1)
    first = register(event["id"], 1).get_json()
    for n in (2, 3):
        register(event["id"], n)
    register_anonymously(event["id"], 4)  # the anonymous path counts the same way
    assert positions(outbox_facts(db)) == {
        "persona2@example.org": 1, "persona3@example.org": 2, "persona4@example.org": 3}
    # A seat frees: person 2 gets it; the next one to come waits behind 3 and 4.
    use_cases.cancel(db, first["id"], Links(settings.public_base_url, settings.keys),
                     datetime.now(timezone.utc))
    register(event["id"], 5)
    assert positions(outbox_facts(db))["persona5@example.org"] == 3


def test_someone_back_after_cancelling_goes_to_the_end_of_the_line(
        registration_app, make_event, register, outbox_facts):
    _, db, settings = registration_app
    event = make_event(capacity=1)
    register(event["id"], 1)
    waiting = register(event["id"], 2).get_json()
    register(event["id"], 3)
    use_cases.cancel(db, waiting["id"], Links(settings.public_base_url, settings.keys),
                     datetime.now(timezone.utc))
    register(event["id"], 2)  # the same person again
    last = [fact for fact in outbox_facts(db) if fact["type"] == "registration.waitlisted"][-1]
    assert last["data"]["registration"]["email"] == "persona2@example.org"
    assert last["data"]["registration"]["waitlist_position"] == 2


def test_a_seated_registration_carries_no_place(registration_app, make_event, register,
                                                outbox_facts):
    event = make_event(capacity=5)
    register(event["id"], 1)
    (fact,) = outbox_facts(registration_app[1])
    assert fact["type"] == "registration.confirmed"
    assert "waitlist_position" not in fact["data"]["registration"]
