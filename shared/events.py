"""The event catalogue: every fact a service publishes on the bus, who emits it, what it carries.

The README's event table is generated from this module (`abierto events`), and both the
producer (before the outbox write) and the consumer (on read) validate `data` with
these schemas.
"""
from dataclasses import dataclass

from marshmallow import Schema, fields, validate

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


class Bilingual(Schema):
    """A text in both languages; Spanish is canonical."""

    es = fields.String(required=True)
    en = fields.String(required=True)


class CommitmentSnapshot(Schema):
    """The commitment a fact is about, as it stands after the fact."""

    id = fields.Integer(required=True)
    ogp_id = fields.String(required=True, allow_none=True, metadata={"description": "e.g. MXCHH0003"})
    number = fields.Integer(required=True)
    title = fields.Nested(Bilingual, required=True)
    status = fields.String(required=True, allow_none=True)
    progress_pct = fields.Integer(required=True, allow_none=True)
    url = fields.String(required=True, metadata={"description": "the commitment in the public API"})
    history_url = fields.String(required=True)


class MilestoneSnapshot(Schema):
    id = fields.Integer(required=True)
    title = fields.Nested(Bilingual, required=True)


class MilestoneState(Schema):
    """The fields of a milestone a change can touch (dates as ISO 8601 dates)."""

    status = fields.String(required=True)
    progress_pct = fields.Integer(required=True, allow_none=True)
    planned_end = fields.String(required=True, allow_none=True)
    date_met = fields.String(required=True, allow_none=True)


class Evidence(Schema):
    title = fields.String(required=True)
    url = fields.String(required=True)


class MilestoneChanged(Schema):
    """Data of `milestone.changed`: before and after, and why."""

    commitment = fields.Nested(CommitmentSnapshot, required=True)
    milestone = fields.Nested(MilestoneSnapshot, required=True)
    before = fields.Nested(MilestoneState, required=True)
    after = fields.Nested(MilestoneState, required=True)
    justification = fields.String(required=True, allow_none=True)
    evidence = fields.List(fields.Nested(Evidence), required=True)
    minor = fields.Boolean(required=True, metadata={"description": "true: nobody is alerted"})
    actor = fields.String(required=True, metadata={"description": "the token's name"})


class CommitmentUpdated(Schema):
    """Data of `commitment.updated`: field -> {"old", "new"}."""

    commitment = fields.Nested(CommitmentSnapshot, required=True)
    changes = fields.Dict(keys=fields.String(), required=True)
    actor = fields.String(required=True)


class AssessmentRecorded(Schema):
    commitment = fields.Nested(CommitmentSnapshot, required=True)
    assessment = fields.Dict(required=True, metadata={"description": "as the API shows it"})
    actor = fields.String(required=True)


class SubscriptionSnapshot(Schema):
    """A follower, without the address: integrators learn that, not who."""

    id = fields.Integer(required=True)
    topic = fields.String(required=True, metadata={"description": "commitment:<id>"})
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))


class SubscriptionFact(Schema):
    """Data of every `subscription.*` event."""

    subscription = fields.Nested(SubscriptionSnapshot, required=True)


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
              "a person registered and got a seat, or confirmed a held one", RegistrationFact),
    EventType("registration.waitlisted", "registration",
              "a person registered for a full event and is on its waiting list", RegistrationFact),
    EventType("registration.promoted", "registration",
              "a seat was freed and the first person waiting got it", RegistrationFact),
    EventType("registration.cancelled", "registration",
              "an attendee cancelled through the signed link", RegistrationFact),
    EventType("registration.pending", "registration",
              "a person registered for a `confirm_by_email` event and a seat is held for them "
              "until they confirm through the emailed link", RegistrationFact),
    EventType("registration.expired", "registration",
              "a held seat was not confirmed within PENDING_HOLD (found by the `holds` process); "
              "it went to the waiting list", RegistrationFact),
    EventType("registration.repeated", "registration",
              "someone registered, without a token, an email that already holds a registration "
              "of the event; nothing changed, and the person is told what they hold",
              RegistrationFact),
    EventType("milestone.changed", "commitments",
              "a milestone's status, progress or dates changed", MilestoneChanged),
    EventType("commitment.updated", "commitments",
              "a commitment's own fields changed", CommitmentUpdated),
    EventType("assessment.recorded", "commitments",
              "an assessment of a commitment was recorded", AssessmentRecorded),
    EventType("subscription.requested", "notifications",
              "someone asked to follow a topic; an opt-in email went out", SubscriptionFact),
    EventType("subscription.confirmed", "notifications",
              "a follower confirmed through the opt-in link", SubscriptionFact),
    EventType("subscription.cancelled", "notifications",
              "a follower unsubscribed", SubscriptionFact),
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
