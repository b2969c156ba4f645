"""The domain events registration publishes (its part of the catalogue, `abierto events`):
the event-carried state of `registration.*`, checked before the outbox write and on read."""
from marshmallow import Schema, fields, validate

from shared.events import EventType
from shared.wording import LANGUAGES

# An event's status, as schema.org's eventStatus (EventScheduled, EventRescheduled, ...).
EVENT_STATUSES = ("scheduled", "rescheduled", "postponed", "cancelled")
# The fields whose change attendees hear of (an email, and an updated calendar invite).
NOTIFIED_FIELDS = ("starts_at", "ends_at", "venue", "address", "online_url")


class EventSnapshot(Schema):
    """What an email about an event needs to show, copied at the time of the fact."""

    id = fields.Integer(required=True)
    title = fields.String(required=True, metadata={"description": "Spanish, canonical"})
    title_en = fields.String(allow_none=True, load_default=None,
                             metadata={"description": "English; null: show the Spanish"})
    description = fields.String(load_default="", metadata={
        "description": "Spanish, shortened to about 500 characters (the whole text: `api_url`)"})
    description_en = fields.String(allow_none=True, load_default=None, metadata={
        "description": "English, shortened likewise; null: show the Spanish"})
    status = fields.String(load_default="scheduled", validate=validate.OneOf(EVENT_STATUSES),
                           metadata={"description": "as schema.org's eventStatus, in short"})
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "UTC"})
    ends_at = fields.AwareDateTime(required=True, metadata={"description": "UTC"})
    timezone = fields.String(required=True, metadata={"description": "IANA zone shown"})
    venue = fields.String(required=True)
    address = fields.String(required=True)
    online_url = fields.String(load_default="", metadata={"description": "\"\": in person only"})
    city = fields.String(required=True)
    country = fields.String(required=True)
    host_organization = fields.String(required=True)
    url = fields.String(required=True, metadata={
        "description": "public page of the event (HTML; `?lang=en` for English)"})
    api_url = fields.String(metadata={"description": "the event in the public API (JSON)"})
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
    invite_sequence = fields.Integer(load_default=0, metadata={
        "description": "SEQUENCE of this fact's calendar invite (its UID is the registration's)"})
    checkin_token = fields.String(metadata={
        "description": "only while `confirmed`: the signed check-in token its QR code holds"})
    checkin_code = fields.String(metadata={
        "description": "only while `confirmed`: the short check-in code, read aloud at the door"})
    waitlist_position = fields.Integer(metadata={
        "description": "only in `registration.waitlisted`: the person's place in the list, from 1"})


class RegistrationFact(Schema):
    """Data of every `registration.*` event."""

    registration = fields.Nested(AttendeeSnapshot, required=True)
    event = fields.Nested(EventSnapshot, required=True)


class Change(Schema):
    """One notified field, as attendees last heard of it and as it is now (times in UTC)."""

    old = fields.Raw(required=True, allow_none=True)
    new = fields.Raw(required=True, allow_none=True)


class Bilingual(Schema):
    """An organiser's words in both languages (Spanish canonical; English may be missing)."""

    es = fields.String(required=True)
    en = fields.String(allow_none=True, load_default=None)


class EventChangedFact(RegistrationFact):
    """Data of `registration.event_changed`: what moved, old and new; `event` is the new state."""

    changes = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFIED_FIELDS)),
                          values=fields.Nested(Change), required=True)


class EventCalledOffFact(RegistrationFact):
    """Data of `registration.event_cancelled` and `registration.event_postponed`."""

    reason = fields.Nested(Bilingual, required=True)


class RegistrationCancelledFact(RegistrationFact):
    """Data of `registration.cancelled`."""

    cancelled_from = fields.String(
        allow_none=True, load_default=None,
        validate=validate.OneOf(("confirmed", "pending", "waitlisted")), metadata={
            "description": "the status it had; only a `confirmed` one was sent a calendar "
                           "invite to withdraw (null in facts older than this field)"})


class Reminder(Schema):
    offset = fields.String(required=True, metadata={"description": "ISO 8601, e.g. P1D"})
    due_at = fields.AwareDateTime(required=True, metadata={"description": "UTC"})


class ReminderFact(RegistrationFact):
    """Data of `registration.reminder`."""

    reminder = fields.Nested(Reminder, required=True)


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
              "an attendee cancelled through the signed link", RegistrationCancelledFact),
    EventType("registration.pending",
              "a person registered for a `confirm_by_email` event and a seat is held for them "
              "until they confirm through the emailed link", RegistrationFact),
    EventType("registration.expired",
              "a held seat was not confirmed within PENDING_HOLD (found by the `timers` process); "
              "it went to the waiting list", RegistrationFact),
    EventType("registration.repeated",
              "someone registered, without a token, an email that already holds a registration "
              "of the event; nothing changed, and the person is told what they hold",
              RegistrationFact),
    EventType("registration.event_changed",
              "the organiser changed the event's time, end, venue, address or online link; one "
              "per attendee (confirmed, pending or waiting), CHANGE_COALESCE after the first of "
              "several edits, with the final state", EventChangedFact),
    EventType("registration.event_cancelled",
              "the organiser cancelled the event; one per attendee", EventCalledOffFact),
    EventType("registration.event_postponed",
              "the organiser postponed the event until a new date is set; one per attendee",
              EventCalledOffFact),
    EventType("registration.reminder",
              "the event starts in one of its REMINDERS offsets; one per confirmed attendee "
              "registered before that time", ReminderFact),
    EventType("arco.requested",
              "someone asked, on the \"Mis datos\" page, for the link to everything held under "
              "an address; the link goes to that address (at most one an hour)",
              ArcoRequestedFact),
)
