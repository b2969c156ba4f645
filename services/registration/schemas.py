"""The public contract of registration's API: field names, types and shape rules."""
import re
from zoneinfo import available_timezones

from marshmallow import (ValidationError, fields, post_load, pre_load, validate, validates,
                         validates_schema)

from services.registration import domain, lifecycle
from services.registration.published import EVENT_STATUSES
from shared import bilingual, durations
from shared.openapi_rules import Order
from shared.schemas import (DATETIME_PATTERN, MAX_INT, URL_PATTERN, ChangesQuery, StrictSchema,
                            UTCDateTime, WholeNumber, email_field)
from shared.web import service
from shared.wording import LANGUAGES

SECTORS = ("citizen", "civil_society", "government", "academia", "private_sector", "media", "other")
_text = lambda n, **kw: fields.String(validate=validate.Length(max=n), **kw)  # noqa: E731
NO_LINK = "Must not contain a link (://, www.)."
_ZONES = available_timezones()


def no_link(value):
    """Refuse a link in text that an email echoes to the address typed beside it: with the
    name "Win a prize at www.example.com", the municipality's own email carries the spam."""
    if "://" in value or "www." in value.lower():
        raise ValidationError(NO_LINK)


LINK_OR_EMPTY = URL_PATTERN.replace("^", "^(?:$|", 1).removesuffix("$") + ")$"
_LINK_OR_EMPTY = re.compile(LINK_OR_EMPTY)


def http_url_or_empty(value):
    """An http(s) link to a named host (the document's pattern), or "" for none."""
    if value and not (_LINK_OR_EMPTY.match(value) and _is_url(value)):
        raise ValidationError("Must be an http:// or https:// link, or \"\" for none.")


def _is_url(value):
    try:
        validate.URL(schemes={"http", "https"})(value)
    except ValidationError:
        return False
    return True


# Days 1-59, hours 1-23, minutes 1-59: each length under 60 days in one spelling.
REMINDER_PATTERN = (r"^(?:P(?:[1-9]|[1-5][0-9])D|PT(?:[1-9]|1[0-9]|2[0-3])H"
                    r"|PT(?:[1-9]|[1-5][0-9])M)$")


class ReminderOffset(fields.String):
    """An ISO 8601 duration before the start (P1D, PT2H), under 60 days; loaded in capitals."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        try:
            length = durations.parse(text)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        if length >= lifecycle.LONGEST_REMINDER:
            raise ValidationError("A reminder must be under 60 days (P60D) before the start.")
        return text


def _distinct(offsets):
    if len({durations.parse(offset) for offset in offsets}) != len(offsets):
        raise ValidationError("Must not repeat a reminder (P1D and PT24H are the same).")


class CallOffSchema(StrictSchema):
    """POST .../cancel and .../postpone: why, in Spanish and English."""

    reason = bilingual.TextOrBilingual(
        bilingual.schema("CallOffReason", 1000, english=None, blank="Say why in Spanish."),
        required=True, metadata={
            "example": {"es": "Por lluvia", "en": "Because of rain"},
            "description": "{\"es\", \"en\"} (English may be null), or a string: the Spanish"})


def _online_url(**said):
    return fields.String(load_default="", validate=[validate.Length(max=500), http_url_or_empty],
                         metadata={"description": "http(s) link to a named host, to join online; "
                                                  "\"\": in person only", **said})


def _reminders(**said):
    return fields.List(
        ReminderOffset(metadata=said), allow_none=True, load_default=None,
        validate=[validate.Length(max=5), _distinct], metadata={"description": (
            "ISO 8601 durations before the start, each under 60 days, e.g. [\"P1D\", \"PT2H\"]; "
            "null: the REMINDERS setting; []: none")})


class EventSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    title = bilingual.TextOrBilingual(
        bilingual.schema("EventTitle", 200, english=None), "title_en", required=True,
        metadata={"description": 'a plain string is the Spanish alone: {"es": it, "en": null}'})
    description = bilingual.TextOrBilingual(
        bilingual.schema("EventDescription", 5000, min_len=0, english=None), "description_en",
        load_default={"es": "", "en": None})
    category = _text(200, load_default="")
    starts_at = UTCDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    ends_at = UTCDateTime(required=True)
    timezone = fields.String(required=True, metadata={
        "description": "IANA zone, e.g. America/Chihuahua", "enum": sorted(_ZONES)})
    venue = _text(300, load_default="")
    address = _text(300, load_default="")
    city = _text(100, load_default="")
    country = fields.String(load_default="", validate=validate.Regexp(
        r"^([A-Z]{2})?\Z", error="Use an ISO 3166-1 alpha-2 code such as MX."))
    latitude = fields.Float(allow_none=True, load_default=None, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, load_default=None, validate=validate.Range(-180, 180))
    host_organization = fields.String(required=True, validate=validate.Length(min=1, max=300))
    partners = fields.List(fields.String(validate=validate.Length(max=300)), load_default=list,
                           validate=validate.Length(max=50))
    related_commitments = fields.List(
        WholeNumber(validate=validate.Range(min=1, max=MAX_INT)), load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "ids of the action-plan commitments this event reports on"})
    capacity = WholeNumber(allow_none=True, load_default=None,
                           validate=validate.Range(min=1, max=MAX_INT),
                           metadata={"description": "null means unlimited"})
    registration_closes_at = fields.Method(
        "_closes_at", deserialize="_parse_closes_at", allow_none=True, load_default=None,
        metadata={"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN,
                  "description": "null: when the event starts (and follows it if it moves)"})
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))
    confirm_by_email = fields.Boolean(load_default=False, metadata={"description": (
        "true: a new registration that gets a seat holds it as `pending` until the person "
        "confirms through the emailed link (PENDING_HOLD, default 30 minutes); unconfirmed "
        "holds expire and go to the waiting list")})
    seats_left = fields.Function(domain.seats_left, dump_only=True,
                                 metadata={"type": ["integer", "null"], "minimum": 0,
                                           "description": "null: unlimited"})
    registration_open = fields.Function(
        lambda event: domain.registration_open(event, service().clock()), dump_only=True,
        metadata={"type": "boolean"})
    # The event's life (lifecycle.py): the link to join online, its reminders, its status.
    online_url = _online_url()
    reminders = _reminders()
    status = fields.String(dump_only=True, metadata={
        "enum": list(EVENT_STATUSES), "description": "as schema.org's eventStatus: "
        "rescheduled after a move, postponed or cancelled by POST .../postpone or .../cancel"})
    status_reason = fields.Dict(dump_only=True, allow_none=True, metadata={
        "description": "postponed or cancelled: the organiser's {\"es\", \"en\"} reason"})
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
    # A change (PATCH) is held to them with the stored times too (domain.check_schedule).
    rules = (Order("starts_at", "ends_at", strict=True), Order("registration_closes_at", "ends_at"))

    def _closes_at(self, event):
        if event is None:  # apispec documenting the default
            return None
        return UTCDateTime()._serialize(domain.registration_closes_at(event), None, event)

    def _parse_closes_at(self, value):
        return UTCDateTime().deserialize(value)

    @validates("timezone")
    def _known_zone(self, value, **_):
        if value not in _ZONES:
            raise ValidationError("Not an IANA time zone, e.g. America/Chihuahua.")

    @post_load
    def _columns(self, data, **_):
        return bilingual.flatten(data, ("title", "description"))


class EventRequestSchema(EventSchema):
    """What an organiser sends. Its patterns give one spelling of each link and reminder
    (P1D, not PT24H: different items are different lengths); other spellings are read too
    (P1DT12H, lower case) and kept as sent, so the answers (EventSchema) do not promise them."""

    online_url = _online_url(pattern=LINK_OR_EMPTY)
    reminders = fields.List(
        ReminderOffset(metadata={"pattern": REMINDER_PATTERN}), allow_none=True,
        load_default=None, validate=[validate.Length(max=5), _distinct],
        metadata={**_reminders().metadata, "uniqueItems": True})


class EventChangesSchema(EventRequestSchema):
    """PATCH body: any subset of the event's fields."""

    notify = fields.Boolean(load_only=True, metadata={"description": (
        "default true: a change of starts_at, ends_at, venue, address or online_url is emailed "
        "to attendees, with an updated invite, CHANGE_COALESCE after the first of several "
        "edits; false: not this edit (a typo fixed)")})


class EventQuery(ChangesQuery):
    when = fields.String(validate=validate.OneOf(("upcoming", "past")))
    q = fields.String(validate=validate.Length(max=200))
    country = fields.String(validate=validate.Length(equal=2))
    city = fields.String(validate=validate.Length(max=100))


class RegistrationSchema(StrictSchema):
    """What a citizen sends; what an organiser reads back."""

    id = fields.Integer(dump_only=True)
    event_id = fields.Integer(dump_only=True)
    name = fields.String(required=True,
                         validate=[validate.Length(min=1, max=200), no_link],
                         metadata={"description": "greets the person in emails: no links"})
    email = email_field(required=True)
    organization = _text(200, load_default="")
    sector = fields.String(required=True, validate=validate.OneOf(SECTORS))
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))
    accessibility_needs = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=500),
        metadata={"description": "optional: what the person needs to take part (organisers see it); "
                                 "needs `accessibility_consent`"})
    # Needs can tell of health, which the law treats as sensitive: the general consent does
    # not cover them, so they ask for their own, explicit one.
    accessibility_consent = fields.Boolean(
        load_default=False, load_only=True,
        metadata={"description": "explicit consent to keep the accessibility needs (sensitive "
                                 "data); required when they are given"})
    privacy_consent = fields.Boolean(required=True, load_only=True, validate=validate.Equal(
        True, error="Consent to the privacy notice is required to register."))
    status = fields.String(dump_only=True)
    created_at = UTCDateTime(dump_only=True)

    @validates_schema
    def _sensitive_needs_consented(self, data, **_):
        # Blank is what has no \S (RegistrationRequestSchema's pattern): Python's \s is str.isspace.
        needs = data.get("accessibility_needs") or ""
        if re.search(r"\S", needs) and not data.get("accessibility_consent"):
            raise ValidationError("Accessibility needs are sensitive data: give them only with "
                                  "accessibility_consent true, or leave them out.",
                                  "accessibility_consent")

    @pre_load
    def _trim_email(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            data = {**data, "email": data["email"].strip()}
        return data


class RegistrationRequestSchema(RegistrationSchema):
    """What a citizen sends, its consent rule said in JSON Schema: a component of its own,
    as the answers (RegistrationSchema) never carry the write-only consent."""

    json_schema = {
        "if": {"required": ["accessibility_needs"],
               "properties": {"accessibility_needs": {"type": "string", "pattern": r"\S"}}},
        "then": {"required": ["accessibility_consent"],
                 "properties": {"accessibility_consent": {"const": True}}}}


class RegistrationReceiptSchema(StrictSchema):
    """The answer to a `registrations:write` token: the registration's id and status."""

    id = fields.Integer()
    event_id = fields.Integer()
    status = fields.String()
    created_at = UTCDateTime()



class RegistrationAcceptedSchema(StrictSchema):
    """The anonymous answer: the same for a new email, a repeat or a request whose email is
    not sent, so it tells nobody who registered; the email says what the person holds."""

    event_id = fields.Integer()
    detail = fields.String(metadata={"description": "the same sentence, Spanish / English"})


