"""The one event envelope: CloudEvents 1.0 structured JSON, checked by a marshmallow schema."""
import functools
import hashlib
import json
import uuid
from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, fields, validate

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
    fields (of the envelope and of its data) whose JSON differs from that one's. A field's
    check depends on its value alone (a schema with rules across fields is checked whole:
    _errors), so each envelope is checked as fully as alone.

    Of the data it keeps a digest of each field's JSON, never the values: a long-lived one
    (the process's, for the facts it makes) holds no one's personal data, and no caller
    can change what it compares with by changing an envelope it was given. One may be
    shared by threads: what it keeps of a type is replaced whole, never changed."""

    def __init__(self):
        self._valid = {}  # type -> (_attributes of the last valid envelope, _digests of its data)

    def check(self, envelope):
        """Raise ValidationError unless the envelope matches the catalogue; return it."""
        shaped = isinstance(envelope, dict) and isinstance(envelope.get("data"), dict)
        valid = self._valid.get(envelope.get("type")) if shaped else None
        if valid is None:
            validate_envelope(envelope)
            if shaped:
                self._valid[envelope["type"]] = (_attributes(envelope), _digests(envelope["data"]))
            return envelope
        ours, data = _attributes(envelope), _digests(envelope["data"])
        errors = _errors(_ENVELOPE_SCHEMA, envelope, ours, valid[0])
        if errors:
            raise ValidationError(errors)
        errors = _errors(_data_schemas()[envelope["type"]], envelope["data"], data, valid[1])
        if errors:
            raise ValidationError({"data": errors})
        self._valid[envelope["type"]] = (ours, data)
        return envelope


# The envelope's own attributes; its `data` is always checked (a dict: next to nothing),
# its fields by the data's schema.
_METADATA = frozenset(EnvelopeSchema().fields) - {"data"}
_PLAIN = (str, int, float, bool, type(None))
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _attributes(envelope):
    """What tells whether another envelope has the same attributes: kept as they are, as
    they carry ids, names and times, never personal data (else as digests, see _digests)."""
    return {key: (type(value), value) if type(value) in _PLAIN else _digest(value)
            for key, value in envelope.items() if key in _METADATA}


def _digests(fields):
    """What tells whether another object holds the same JSON value in each field: see _digest."""
    return {key: _digest(value) for key, value in fields.items()}


def _digest(value):
    """The value's type (for == True is 1 and 1.0, which fields tell apart) and a digest of
    its JSON (inside objects and lists only the JSON tells); None, never the same as
    another's, when its JSON does not say all of it (a tuple, a key not a string, a
    datetime): a schema may tell those apart, the JSON does not."""
    if not _plain_json(value):
        return None
    return type(value), hashlib.blake2b(_ENCODER.encode(value).encode(), digest_size=16).digest()


def _plain_json(value):
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and (type(item) in _PLAIN or _plain_json(item))
                   for key, item in value.items())
    if kind is list:
        return all(type(item) in _PLAIN or _plain_json(item) for item in value)
    return kind in _PLAIN


def _errors(schema, fields, digests, valid):
    """`schema`'s errors for `fields` (whose `digests` are given), checking only those not
    the same as `valid`'s."""
    changed = frozenset(key for key in fields.keys() | valid.keys()
                        if digests.get(key) is None or digests[key] != valid.get(key))
    if not changed:
        return {}
    if not changed <= schema.fields.keys() or any(schema._hooks.values()):
        return schema.validate(fields)  # unknown fields, or rules across fields: all of it
    return _only(type(schema), changed).validate({key: fields[key] for key in changed
                                                  if key in fields})


@functools.lru_cache(maxsize=256)
def _only(schema_class, names):
    return schema_class(only=names)


# The facts this process makes, checked against the last valid one of their type.
_MADE = Checker()


def dumps(envelope):
    return _DUMPER.encode(envelope)


# One encoder, not one per call (json.dumps makes a new one for any argument of its own).
_DUMPER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def loads(text, checker=None):
    """Parse and validate an envelope read from the bus (with `checker`, a Checker, when
    reading a batch)."""
    envelope = json.loads(text)
    return checker.check(envelope) if checker else validate_envelope(envelope)
