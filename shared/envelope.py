"""The one event envelope: CloudEvents 1.0 structured JSON, checked by a marshmallow schema."""
import functools
import hashlib
import json
import pickle
import re
import uuid
from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, fields, validate
from marshmallow.fields import Nested

from shared import events


class EnvelopeSchema(Schema):
    """CloudEvents 1.0 attributes we require; `data` is checked by its type's schema."""

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = fields.UUID(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True)  # one of the catalogue's: see validate_envelope
    time = fields.AwareDateTime(required=True)
    subject = fields.String(required=True)
    datacontenttype = fields.String(required=True, validate=validate.Equal("application/json"))
    data = fields.Dict(required=True)


def make(type_, source, subject, data, *, now=None):
    """A new envelope (a plain dict) for one fact; the data is validated before it leaves."""
    return make_all(type_, source, [(subject, data)], now=now)[0]


def make_all(type_, source, facts, *, now=None):
    """New envelopes for facts of one type and moment, `facts` being (subject, data) pairs;
    each is validated before it leaves, the parts they share with the last valid one of
    their type once (the process's Checker: a rush on one event makes facts that differ
    from one another only in their attendee)."""
    moment = (now or datetime.now(timezone.utc)).isoformat()
    return [_MADE.check({
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "time": moment,
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }) for subject, data in facts]


class Shared(dict):
    """A part many envelopes carry as it is (an event's, in the facts of each of its
    attendees): a dict of plain JSON that no one can change, its lists made tuples (the
    same JSON), so that the Checker digests it, and dumps writes it, once, not once per
    envelope. A copy of it, or one read back, is a plain dict."""

    def __init__(self, plain):
        if not (type(plain) is dict and _plain_json(plain)):
            raise TypeError("a Shared part is made of a dict of plain JSON")
        super().__init__({key: _frozen(value) for key, value in plain.items()})
        # Apart from any plain value's (_digest), as what is checked is this, tuples and all.
        self.digest = hashlib.blake2b(pickle.dumps(plain, _PICKLE), digest_size=16,
                                      person=b"envelope.Shared").digest()
        self.json = _DUMPER.encode(plain)  # as dumps writes it

    def _refuse(self, *args, **kwargs):
        raise TypeError("a Shared part is never changed: make another")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return dict, (dict(self),)


def _frozen(value):
    if type(value) is dict:
        return Shared(value)
    if type(value) is list:
        return tuple(_frozen(item) for item in value)
    return value




# Built once per process: making a schema instance (it deep-copies every field) costs
# several times more than validating with it, and schemas keep no state between calls.
_ENVELOPE_SCHEMA = EnvelopeSchema()


@functools.cache
def _data_schemas():
    # On first use, not at import: the catalogue comes from the services' declarations.
    return {name: event_type.schema() for name, event_type in events.catalogue().items()}


def validate_envelope(envelope):
    """Raise ValidationError unless both the envelope and its data match the catalogue."""
    errors = _ENVELOPE_SCHEMA.validate(envelope)
    if not errors and envelope["type"] not in _data_schemas():
        errors = {"type": [f"Must be one of: {', '.join(sorted(_data_schemas()))}."]}
    if errors:
        raise ValidationError(errors)
    errors = _data_schemas()[envelope["type"]].validate(envelope["data"])
    if errors:
        raise ValidationError({"data": errors})
    return envelope


class Checker:
    """validate_envelope for a run of envelopes, at a fraction of the cost when they share
    parts, as a fan-out's facts share their event and moment: it keeps the fields of the
    last valid envelope of each type and, of the next one of that type, checks only the
    fields (of the envelope and of its data) whose value differs from that one's, each by its
    schema's own field (_passes; a value of the type a field's class takes as it is, by
    the field's validators alone, _taken_as_is). A field's check depends on its value
    alone, and what the fields cannot vouch for alone (a schema with rules across fields, an
    unknown or missing field, one that fails) is checked by validate_envelope whole, so each
    envelope is checked as fully, and refused with the same messages, as alone.

    Of the data it keeps a digest of each field's value (none of one that costs no more to
    check again, _checked_again), never the values: a long-lived one (the process's, for
    the facts it makes) holds no one's personal data, and no caller can change what it
    compares with by changing an envelope it was given (nor a Shared part, which no one
    changes). One may be shared by threads: what it keeps of a type is replaced whole,
    never changed."""

    def __init__(self):
        self._valid = {}  # type -> (_attributes of the last valid envelope, _digests of its data)

    def check(self, envelope):
        """Raise ValidationError unless the envelope matches the catalogue; return it."""
        if not (isinstance(envelope, dict) and type(envelope.get("type")) is str
                and isinstance(envelope.get("data"), dict)):
            return validate_envelope(envelope)
        type_, data = envelope["type"], envelope["data"]
        schema = _data_schemas().get(type_)
        if schema is None:
            return validate_envelope(envelope)  # refused: no such type
        ours = (_attributes(envelope), _digests(data, _checked_again(schema)))
        valid = self._valid.get(type_)
        if valid is None or not (
                _passes(_ENVELOPE_SCHEMA, envelope, _changed(envelope, ours[0], valid[0]))
                and _passes(schema, data, _changed(data, ours[1], valid[1]))):
            validate_envelope(envelope)
        self._valid[type_] = ours
        return envelope


# The envelope's own attributes; its `data` is always checked (a dict: next to nothing),
# its fields by the data's schema.
_METADATA = frozenset(EnvelopeSchema().fields) - {"data"}
_PLAIN = (str, int, float, bool, type(None))
_PICKLE = 5  # fixed, not the default, which a newer Python may change
_OBJECTS = (dict, Shared)


def _attributes(envelope):
    """What tells whether another envelope has the same attributes: kept as they are, as
    they carry ids, names and times, never personal data (else as digests, see _digests)."""
    return {key: (type(value), value) if type(value) in _PLAIN else _digest(value)
            for key, value in envelope.items() if key in _METADATA}


def _digests(fields, checked_again=frozenset()):
    """What tells whether another object holds the same value in each field (see _digest);
    None, never the same, for those `checked_again`."""
    return {key: None if key in checked_again else _digest(value)
            for key, value in fields.items()}


@functools.lru_cache(maxsize=256)
def _checked_again(schema):
    """The fields of the schema whose check costs no more than a digest of their value, which
    is then not made: a Nested one whose fields all take values as they are (_taken_as_is),
    as an attendee's, different in every fact of a fan-out."""
    return frozenset(name for name, (field, *_) in (_by_fields(schema) or {}).items()
                     if _checks_plainly(field))


def _checks_plainly(field):
    if type(field) is not Nested or not _nests_plainly(field):
        return False
    nested = _by_fields(field.schema)
    return nested is not None and all(kind is not None for _, _, kind, _ in nested.values())


def _digest(value):
    """A digest of the value's pickle when it is plain JSON; None, never the same as
    another's, when it is not (a tuple, a datetime, a key not a string), as such an object's
    pickle is what its own code says of it. A plain value's pickle tells apart all a field
    may (True, 1 and 1.0 among them) and costs a quarter of its JSON."""
    if type(value) is Shared:
        return value.digest
    if not _plain_json(value):
        return None
    return hashlib.blake2b(pickle.dumps(value, _PICKLE), digest_size=16).digest()


def _plain_json(value):
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and (type(item) in _PLAIN or _plain_json(item))
                   for key, item in value.items())
    if kind is list:
        return all(type(item) in _PLAIN or _plain_json(item) for item in value)
    return kind in _PLAIN


def _changed(fields, digests, valid):
    """The fields (of `fields`, whose `digests` are given, and of `valid`'s) not the same as
    `valid`'s: a missing one, an unknown one, one not digested (an envelope's `data`)."""
    changed = [key for key in fields
               if (digest := digests.get(key)) is None or digest != valid.get(key)]
    if not valid.keys() <= fields.keys():
        changed.extend(valid.keys() - fields.keys())
    return changed


def _passes(schema, fields, names):
    """Whether `schema` would find no fault with `fields`' values under `names`, each checked
    by its field alone; False too where that cannot tell (see _by_fields)."""
    loading = _by_fields(schema)
    if loading is None or not (all(map(fields.__contains__, names))
                               and all(map(loading.__contains__, names))):
        return False  # a hook, a missing or an unknown field: validate_envelope tells
    try:
        for name in names:
            field, none_passes, kind, form = loading[name]
            value = fields[name]
            if value is None and none_passes:
                continue
            if type(value) is kind and (form is None or form(value)):
                # Taken as it is (_taken_as_is): its validators alone, at a tenth of the
                # cost of the field's deserialize.
                for validator in field.validators:
                    validator(value)  # each refuses by raising ValidationError
            elif type(field) is Nested and type(value) in _OBJECTS and _nests_plainly(field):
                # Its fields, each alone too: loading it with its schema costs twice that.
                if not (_required(field.schema) <= value.keys()
                        and _passes(field.schema, value, value)):
                    return False
            else:
                field.deserialize(value, name, fields)
    except ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=256)
def _by_fields(schema):
    """The schema's fields by name, each with what it takes as it is (_taken_as_is), when
    loading with it is no more than loading each field with its own value (as
    Schema._deserialize does), unknown fields refused; else None: a hook (rules across
    fields, or changing the data), partial or many loads, fields read from or written to
    other keys."""
    if any(schema._hooks.values()) or schema.partial or schema.many:
        return None
    if any(field.data_key is not None or field.attribute is not None
           for field in schema.load_fields.values()):
        return None
    return {name: (field, *_taken_as_is(field)) for name, field in schema.load_fields.items()}


def _taken_as_is(field):
    """(whether a null passes, the type of the values it takes as they are, a test of their
    form or None), as Field.deserialize goes: a null passes where allowed unless a pre_load
    function may change it first; the field's class loads a value of that type (and form)
    without fault (_AS_IS). Only without pre_load or post_load functions, a subclass being
    its own code; where what the validators see is not the value itself, without them."""
    none_passes = bool(field.allow_none) and not field.pre_load
    kind, form, validators_see_it = _AS_IS.get(type(field), (None, None, False))
    if field.pre_load or field.post_load or (field.validators and not validators_see_it):
        kind = form = None
    if type(field) is fields.AwareDateTime and not (
            field.DESERIALIZATION_FUNCS.get(field.format) == datetime.fromisoformat
            and field.default_timezone is None):
        kind = form = None  # another format than ISO 8601's, or naive times allowed
    if type(field) is fields.Dict and (field.key_field or field.value_field):
        kind = form = None  # its keys or values are loaded too
    return none_passes, kind, form


def _read_aware(value):
    """Whether datetime.fromisoformat, an AwareDateTime's reading of ISO 8601, reads the str
    as an aware time, as the field requires."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.tzinfo is not None and moment.tzinfo.utcoffset(moment) is not None


# The field classes that load a value of one exact type (and form) without fault, and
# whether their validators then see that value itself: a String a str (an isinstance check:
# the value), an Integer an int (int(value), the same number; True and False are not of
# type int), a UUID the canonical form uuid4 writes (uuid.UUID reads any 32 hex digits), an
# AwareDateTime (in ISO 8601) an aware time, a Dict (of anything) a dict (copied).
_AS_IS = {
    fields.String: (str, None, True),
    fields.Integer: (int, None, True),
    fields.UUID: (str, re.compile(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch, False),
    fields.AwareDateTime: (str, _read_aware, False),
    fields.Dict: (dict, None, False),
}


@functools.lru_cache(maxsize=256)
def _required(schema):
    return frozenset(name for name, field in schema.load_fields.items() if field.required)


def _nests_plainly(field):
    """Whether the Nested field's check is no more than its schema's load of the value."""
    return not (field.many or field.validators or field.pre_load or field.post_load)


# The facts this process makes, checked against the last valid one of their type.
_MADE = Checker()


def dumps(envelope):
    """The envelope's JSON, compact; a Shared part of its data written once, not each time."""
    data = envelope.get("data") if type(envelope) is dict else None
    for key, part in data.items() if type(data) is dict else ():
        if type(part) is Shared:
            text = _DUMPER.encode({**envelope, "data": {**data, key: _IN_ITS_PLACE}})
            # Its JSON is where the part goes, and wherever a string holds it: then (a
            # name made to look like it) the envelope is written whole, as always.
            if text.count(_IN_ITS_PLACE_JSON) == 1:
                return text.replace(_IN_ITS_PLACE_JSON, part.json)
            break
    return _DUMPER.encode(envelope)


# One encoder, not one per call (json.dumps makes a new one for any argument of its own).
_DUMPER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_IN_ITS_PLACE = "envelope.Shared: in its place"
_IN_ITS_PLACE_JSON = _DUMPER.encode(_IN_ITS_PLACE)


def loads(text, checker=None):
    """Parse and validate an envelope read from the bus (with `checker`, a Checker, when
    reading a batch)."""
    envelope = json.loads(text)
    return checker.check(envelope) if checker else validate_envelope(envelope)
