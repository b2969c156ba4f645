"""The event catalogue: every fact a service publishes on the bus, who emits it, what it carries.

The README's event table is generated from this module (`abierto events`), and both the
producer (before the outbox write) and the consumer (on read) validate `data` with
these schemas.
"""
from dataclasses import dataclass

from marshmallow import Schema, fields, validate

LANGUAGES = ("es", "en")


class EventSnapshot(Schema):
    """What an email about an event needs to show, copied at the time of the fact."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "UTC"})
    ends_at = fields.AwareDateTime(required=True, metadata={"description": "UTC"})
    timezone = fields.String(required=True, metadata={"description": "IANA zone shown"})
    venue = fields.String(required=True)
    address = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)
    host_organization = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "public page of the event"})


class AttendeeSnapshot(Schema):
    """The registration the fact is about; personal data, so streams are trimmed."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    status = fields.String(required=True)
    cancel_url = fields.String(required=True, metadata={"description": "signed, expiring"})


class RegistrationFact(Schema):
    """Data of every `registration.*` event."""

    registration = fields.Nested(AttendeeSnapshot, required=True)
    event = fields.Nested(EventSnapshot, required=True)


@dataclass(frozen=True)
class EventType:
    name: str
    emitted_by: str
    when: str
    schema: type


def _catalogue(*types):
    return {t.name: t for t in types}


CATALOGUE = _catalogue(
    EventType("registration.confirmed", "registration",
              "a person registered and got a seat", RegistrationFact),
    EventType("registration.waitlisted", "registration",
              "a person registered for a full event and is on its waiting list", RegistrationFact),
    EventType("registration.promoted", "registration",
              "a seat was freed and the first person waiting got it", RegistrationFact),
    EventType("registration.cancelled", "registration",
              "an attendee cancelled through the signed link", RegistrationFact),
)


def markdown_table():
    """The README's event table, generated so it cannot drift from the schemas."""
    rows = ["| type | emitted by | when | data |", "|---|---|---|---|"]
    for event_type in CATALOGUE.values():
        schema = event_type.schema()
        data = ", ".join(
            f"`{name}` ({', '.join(field.nested().fields) if isinstance(field, fields.Nested) else type(field).__name__})"
            for name, field in schema.fields.items()
        )
        rows.append(f"| `{event_type.name}` | {event_type.emitted_by} | {event_type.when} | {data} |")
    return "\n".join(rows)
