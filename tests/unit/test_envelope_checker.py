"""envelope.Checker, which checks a batch's envelopes only where they differ from the last
valid one of their type, refuses exactly what validate_envelope refuses, one by one."""
import copy
import json
import pickle
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from marshmallow import Schema, ValidationError, fields, validates_schema

from services.registration import facts
from services.registration.models import Event, Registration
from shared import envelope, signing

NOW = datetime(2031, 5, 20, 12, tzinfo=timezone.utc)
STARTS = datetime(2031, 6, 1, 17, tzinfo=timezone.utc)
LINKS = facts.Links("http://abierto.test", signing.Keys("checker-test-secret"))
EVENT = Event(id=1, title="Presentación", title_en=None, status="scheduled", starts_at=STARTS,
              ends_at=STARTS + timedelta(hours=2), timezone="America/Chihuahua", venue="Sala",
              address="Calle Victoria No.4", online_url="", city="Chihuahua", country="MX",
              host_organization="Municipio de Chihuahua", related_commitments=[])
REMINDER = {"offset": "PT1H", "due_at": (STARTS - timedelta(hours=1)).isoformat()}


def reminders(n):
    attendees = [Registration(id=i, event_id=1, name=f"Persona {i}", email=f"p{i}@example.org",
                              language="es", status="confirmed", invite_sequence=0)
                 for i in range(1, n + 1)]
    return facts.registration_facts("registration.reminder", attendees, EVENT, LINKS, NOW,
                                    reminder=REMINDER)


def changed(made, change):
    """A deep copy of the envelope `made`, changed by `change(copy)`."""
    made = copy.deepcopy(made)
    change(made)
    return made


CHANGES = {
    "an invalid language": lambda e: e["data"]["registration"].update(language="xx"),
    "a number for a name": lambda e: e["data"]["registration"].update(name=7),
    "a word for a sequence": lambda e: e["data"]["registration"].update(invite_sequence="x"),
    "true for a sequence": lambda e: e["data"]["registration"].update(invite_sequence=True),
    "a null name": lambda e: e["data"]["registration"].update(name=None),
    "a null language": lambda e: e["data"]["registration"].update(language=None),
    "a bad event status": lambda e: e["data"]["event"].update(status="maybe"),
    "a bad hold time": lambda e: e["data"]["registration"].update(held_until="soon"),
    "no attendee email": lambda e: e["data"]["registration"].pop("email"),
    "an unknown attendee field": lambda e: e["data"]["registration"].update(extra=1),
    "a null attendee": lambda e: e["data"].update(registration=None),
    "an attendee not an object": lambda e: e["data"].update(registration=[1]),
    "true for an id": lambda e: e["data"]["event"].update(id=True),
    "a word for an id": lambda e: e["data"]["registration"].update(id="seven"),
    "no attendee": lambda e: e["data"].pop("registration"),
    "no event title": lambda e: e["data"]["event"].pop("title"),
    "an unknown data field": lambda e: e["data"].update(extra=1),
    "an unknown event field": lambda e: e["data"]["event"].update(extra=1),
    "data not an object": lambda e: e.update(data=[1]),
    "a naive time": lambda e: e.update(time="2031-05-20T12:00:00"),
    "a time in no month": lambda e: e.update(time="2031-13-20T12:00:00+00:00"),
    "a number for a time": lambda e: e.update(time=1700000000),
    "a naive hold time": lambda e: e["data"]["registration"].update(
        held_until="2031-05-20T12:00:00"),
    "no subject": lambda e: e.pop("subject"),
    "a bad id": lambda e: e.update(id="not-a-uuid"),
    "an id a digit too long": lambda e: e.update(id=e["id"] + "0"),
    "an id with a letter not hex": lambda e: e.update(id=e["id"][:-1] + "g"),
    "a number for an id": lambda e: e.update(id=7),
    "an unknown type": lambda e: e.update(type="registration.nonsense"),
    "a list for a type": lambda e: e.update(type=["registration.reminder"]),
    "an unknown attribute": lambda e: e.update(extra=1),
    "a bad reminder time": lambda e: e["data"]["reminder"].update(due_at="tomorrow"),
}


def refused_as_alone(first, bad):
    """A Checker that saw `first` refuses `bad` with validate_envelope's own messages."""
    with pytest.raises(ValidationError) as alone:
        envelope.validate_envelope(bad)
    checker = envelope.Checker()
    checker.check(first)
    with pytest.raises(ValidationError) as batched:
        checker.check(bad)
    assert batched.value.messages == alone.value.messages
    return checker


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_after_a_valid_envelope_a_changed_one_is_refused_as_alone(change):
    first, second = reminders(2)
    bad = changed(second, change)
    checker = refused_as_alone(first, bad)
    assert checker.check(second) is second  # and it goes on with the valid ones


def test_a_fan_out_is_valid_each_with_its_own_attendee():
    made = reminders(3)
    assert [fact["data"]["registration"]["id"] for fact in made] == [1, 2, 3]
    assert len({fact["id"] for fact in made}) == 3
    for fact in made:
        assert envelope.validate_envelope(fact) is fact


def test_a_made_fact_with_a_bad_attendee_is_refused_before_it_leaves():
    attendees = [Registration(id=i, event_id=1, name=f"Persona {i}", email=f"p{i}@example.org",
                              language=language, status="confirmed", invite_sequence=0)
                 for i, language in ((1, "es"), (2, "xx"))]
    with pytest.raises(ValidationError):
        facts.registration_facts("registration.reminder", attendees, EVENT, LINKS, NOW,
                                 reminder=REMINDER)


def test_an_envelope_changed_after_its_check_does_not_let_the_same_change_through():
    first, second = reminders(2)
    checker = envelope.Checker()
    checker.check(first)
    first["data"]["registration"]["language"] = "xx"  # a caller changing what it was given
    with pytest.raises(ValidationError):
        checker.check(changed(first, lambda e: e.update(id=second["id"])))


def test_what_a_checker_keeps_holds_no_personal_data():
    checker = envelope.Checker()
    for made in reminders(2):
        checker.check(made)
    kept = pickle.dumps(vars(checker))
    assert b"@example.org" not in kept and b"Persona" not in kept


class Window(Schema):
    opens = fields.Integer(required=True)
    closes = fields.Integer(required=True)

    @validates_schema
    def _in_order(self, data, **kwargs):
        if data["closes"] < data["opens"]:
            raise ValidationError("It closes before it opens.")


class WindowFact(Schema):
    window = fields.Nested(Window, required=True)


def test_a_nested_object_with_rules_across_its_fields_is_checked_whole(monkeypatch):
    """Its fields are each valid alone, and only one changed: the rule across them still runs."""
    monkeypatch.setattr(envelope, "_data_schemas", lambda schemas={"window.set": WindowFact()}: schemas)

    def made(window):
        return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/test",
                "type": "window.set", "time": NOW.isoformat(), "subject": "w",
                "datacontenttype": "application/json", "data": {"window": window}}

    bad = made({"opens": 2, "closes": 1})
    with pytest.raises(ValidationError) as alone:
        envelope.validate_envelope(bad)
    checker = envelope.Checker()
    checker.check(made({"opens": 0, "closes": 1}))
    with pytest.raises(ValidationError) as batched:
        checker.check(bad)
    assert batched.value.messages == alone.value.messages == {
        "data": {"window": {"_schema": ["It closes before it opens."]}}}


class Shouted(fields.String):
    """A String of its own: what it takes, its code says, not String's."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value != value.upper():
            raise ValidationError("Not shouted.")
        return value


class Words(Schema):
    shouted = Shouted(required=True)
    plain = fields.String(required=True, validate=lambda value: _refuse_no(value))


def _refuse_no(value):
    if value == "no":
        raise ValidationError("Not no.")


class WordsFact(Schema):
    words = fields.Nested(Words, required=True)


@pytest.mark.parametrize("words", [{"shouted": "quiet", "plain": "x"},
                                   {"shouted": "LOUD", "plain": "no"}])
def test_a_string_is_refused_by_its_field_s_own_code(monkeypatch, words):
    """A String subclass's value is loaded by its field; a String's is refused by its own
    validators, a function of the schema's among them."""
    monkeypatch.setattr(envelope, "_data_schemas", lambda schemas={"words.said": WordsFact()}: schemas)

    def made(words):
        return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/test",
                "type": "words.said", "time": NOW.isoformat(), "subject": "w",
                "datacontenttype": "application/json", "data": {"words": words}}

    bad = made(words)
    with pytest.raises(ValidationError) as alone:
        envelope.validate_envelope(bad)
    checker = envelope.Checker()
    checker.check(made({"shouted": "LOUD", "plain": "yes"}))
    with pytest.raises(ValidationError) as batched:
        checker.check(bad)
    assert batched.value.messages == alone.value.messages


# --- parts many facts share ------------------------------------------------------------------

def test_a_shared_part_is_its_plain_json_that_no_one_can_change():
    plain = {"id": 1, "related_commitments": [3, 4], "nested": {"a": [1, {"b": None}]}}
    shared = envelope.Shared(plain)
    assert envelope.dumps(shared) == envelope.dumps(plain)
    for change in (lambda s: s.update(id=2), lambda s: s.__setitem__("id", 2),
                   lambda s: s.pop("id"), lambda s: s.clear(), lambda s: s.setdefault("x", 1),
                   lambda s: s.popitem(), lambda s: s.__delitem__("id"),
                   lambda s: s["related_commitments"].append(5),
                   lambda s: s["nested"].update(a=1)):
        with pytest.raises((TypeError, AttributeError)):
            change(shared)
    assert shared == envelope.Shared(plain) and envelope.dumps(shared) == envelope.dumps(plain)
    for copied in (copy.deepcopy(shared), copy.copy(shared), pickle.loads(pickle.dumps(shared))):
        assert type(copied) is dict and envelope.dumps(copied) == envelope.dumps(plain)
    with pytest.raises(TypeError):
        envelope.Shared({"when": NOW})  # not plain JSON


def test_a_shared_part_is_told_apart_from_any_plain_value():
    plain = {"id": 1}
    digest = envelope._digest(envelope.Shared(plain))
    assert digest == envelope._digest(envelope.Shared(dict(plain)))
    assert digest not in {envelope._digest(value) for value in (plain, ["Shared", plain], [plain])}


def shared_event(made, **changes):
    """`made` with an event part of its own, Shared, changed by `changes`."""
    plain = json.loads(envelope.dumps(made["data"]["event"]))
    return {**made, "data": {**made["data"], "event": envelope.Shared({**plain, **changes})}}


@pytest.mark.parametrize("changes", [{"id": True}, {"title": None}, {"status": "maybe"},
                                     {"starts_at": "soon"}, {"related_commitments": ["x"]},
                                     {"extra": 1}])
def test_a_bad_shared_part_is_refused_as_alone(changes):
    first, second = reminders(2)
    bad = shared_event(second, **changes)
    with pytest.raises(ValidationError) as alone:
        envelope.validate_envelope(bad)
    checker = envelope.Checker()
    checker.check(shared_event(first))  # a valid one, Shared too
    with pytest.raises(ValidationError) as batched:
        checker.check(bad)
    assert batched.value.messages == alone.value.messages
    assert checker.check(second) is second


def test_facts_about_one_state_of_an_event_share_its_snapshot():
    def snapshot(links=LINKS, **changes):
        event = Event(**{**{name: getattr(EVENT, name) for name in facts.SNAPSHOT_READS},
                         **changes})
        return facts.event_snapshot(event, links)

    kept = snapshot()
    assert type(kept) is envelope.Shared and snapshot() is kept
    assert snapshot(related_commitments=None) is snapshot(related_commitments=[]) is kept
    # What makes another snapshot: any value, its type, the offset a time is written with.
    in_chihuahua = STARTS.astimezone(ZoneInfo("America/Chihuahua"))
    others = [snapshot(title="Otra"), snapshot(id=1.0), snapshot(starts_at=in_chihuahua),
              snapshot(related_commitments=[1]), snapshot(related_commitments=[1.0]),
              snapshot(links=facts.Links("http://other.test", LINKS.keys))]
    assert all(other is not kept for other in others)
    assert others[2]["starts_at"] == in_chihuahua.isoformat() != kept["starts_at"]
    assert others[1]["id"] == 1.0 and type(others[1]["id"]) is float
    assert snapshot(title="Otra") is others[0]


@pytest.mark.parametrize("name", ["Ana", envelope._IN_ITS_PLACE, f'x"{envelope._IN_ITS_PLACE}',
                                  f'{envelope._IN_ITS_PLACE}"', '"'])
def test_an_envelope_with_a_shared_part_is_written_as_a_plain_one(name):
    (made,) = reminders(1)
    made["data"]["registration"]["name"] = name
    plain = json.loads(json.dumps(made))
    assert type(made["data"]["event"]) is envelope.Shared
    assert envelope.dumps(made) == envelope.dumps(plain) == json.dumps(
        plain, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("write", [str.upper, lambda id_: "{" + id_ + "}",
                                   lambda id_: id_.replace("-", ""), lambda id_: "urn:uuid:" + id_])
def test_an_id_in_another_form_uuid_reads_passes_as_alone(write):
    first, second = reminders(2)
    other = {**second, "id": write(second["id"])}
    checker = envelope.Checker()
    checker.check(first)
    assert envelope.validate_envelope(other) is other and checker.check(other) is other


class Times(Schema):
    spoken = fields.AwareDateTime(format="rfc", required=True)
    local = fields.AwareDateTime(default_timezone=timezone.utc, required=True)


class TimesFact(Schema):
    times = fields.Nested(Times, required=True)


@pytest.mark.parametrize("times", [{"spoken": NOW.isoformat(), "local": NOW.isoformat()},
                                   {"spoken": "Tue, 20 May 2031 12:00:00 +0000",
                                    "local": "2031-05-20T12:00:00"}])
def test_a_time_in_another_format_or_where_naive_is_allowed_is_read_by_its_field(
        monkeypatch, times):
    monkeypatch.setattr(envelope, "_data_schemas", lambda schemas={"times.set": TimesFact()}: schemas)

    def made(times):
        return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/test",
                "type": "times.set", "time": NOW.isoformat(), "subject": "t",
                "datacontenttype": "application/json", "data": {"times": times}}

    checker = envelope.Checker()
    checker.check(made({"spoken": "Tue, 20 May 2031 11:00:00 +0000",
                        "local": "2031-05-20T11:00:00+00:00"}))
    given = made(times)
    try:
        alone = envelope.validate_envelope(given)
    except ValidationError as refused:
        with pytest.raises(ValidationError) as batched:
            checker.check(given)
        assert batched.value.messages == refused.messages
    else:
        assert checker.check(given) is alone


def test_a_made_envelope_s_id_is_a_random_uuid_as_uuid4_writes_it():
    """What the Checker's id shortcut takes as it is: the canonical form uuid4 writes."""
    ids = [fact["id"] for fact in reminders(500)]
    assert len(set(ids)) == 500
    for id_ in ids:
        read = uuid.UUID(id_)
        assert (read.version, read.variant, str(read)) == (4, uuid.RFC_4122, id_)


@pytest.mark.parametrize("changes", [{"title": {"old": "a", "new": "b"}},
                                     {"venue": {"old": "a"}}, {"venue": "Sala"}])
def test_a_bad_change_is_refused_as_alone(changes):
    """`changes` is a Dict of its own keys and values: read by its field, never as it is."""
    attendees = [Registration(id=i, event_id=1, name=f"Persona {i}", email=f"p{i}@example.org",
                              language="es", status="confirmed", invite_sequence=0)
                 for i in (1, 2)]
    first, second = facts.registration_facts(
        "registration.event_changed", attendees, EVENT, LINKS, NOW,
        changes={"venue": {"old": "Sala", "new": "Patio"}})
    bad = changed(second, lambda e: e["data"].update(changes=changes))
    refused_as_alone(first, bad)
