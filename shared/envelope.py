"""The one event envelope: CloudEvents 1.0 structured JSON, checked by a marshmallow schema."""
import functools
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
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "time": (now or datetime.now(timezone.utc)).isoformat(),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }
    validate_envelope(envelope)
    return envelope


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


def dumps(envelope):
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def loads(text):
    """Parse and validate an envelope read from the bus."""
    return validate_envelope(json.loads(text))
