"""The domain events registration publishes (its part of the catalogue, `abierto events`):
the event-carried state of `registration.*`, checked before the outbox write and on read."""
from marshmallow import Schema, fields, validate

from shared.events import EventType
from shared.wording import LANGUAGES


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
    related_commitments = fields.List(fields.Integer(), load_default=list,
                                      metadata={"description": "ids of commitments it reports on"})


class AttendeeSnapshot(Schema):
    """The registration the fact is about; personal data, so streams are trimmed."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    status = fields.String(required=True)
    cancel_url = fields.String(required=True, metadata={"description": "signed, expiring"})
    confirm_url = fields.String(metadata={
        "description": "only while `pending`: the signed link that confirms the held seat"})
    held_until = fields.AwareDateTime(metadata={
        "description": "only while `pending`: UTC; unconfirmed by then, the hold expires"})


class RegistrationFact(Schema):
    """Data of every `registration.*` event."""

    registration = fields.Nested(AttendeeSnapshot, required=True)
    event = fields.Nested(EventSnapshot, required=True)


class Requester(Schema):
    """Who asked for their "Mis datos" link, and the link; personal data, so streams are trimmed."""

    email = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    url = fields.String(required=True, metadata={"description": "signed, expiring"})
    valid_hours = fields.Integer(required=True, metadata={"description": "how long it opens"})


class ArcoRequestedFact(Schema):
    """Data of `arco.requested`."""

    requester = fields.Nested(Requester, required=True)


EVENTS = (
    EventType("registration.confirmed",
              "a person registered and got a seat, or confirmed a held one", RegistrationFact),
    EventType("registration.waitlisted",
              "a person registered for a full event and is on its waiting list", RegistrationFact),
    EventType("registration.promoted",
              "a seat was freed and the first person waiting got it", RegistrationFact),
    EventType("registration.cancelled",
              "an attendee cancelled through the signed link", RegistrationFact),
    EventType("registration.pending",
              "a person registered for a `confirm_by_email` event and a seat is held for them "
              "until they confirm through the emailed link", RegistrationFact),
    EventType("registration.expired",
              "a held seat was not confirmed within PENDING_HOLD (found by the `holds` process); "
              "it went to the waiting list", RegistrationFact),
    EventType("registration.repeated",
              "someone registered, without a token, an email that already holds a registration "
              "of the event; nothing changed, and the person is told what they hold",
              RegistrationFact),
    EventType("arco.requested",
              "someone asked, on the \"Mis datos\" page, for the link to everything held under "
              "an address; the link goes to that address (at most one an hour)",
              ArcoRequestedFact),
)
