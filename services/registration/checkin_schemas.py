"""The door's part of registration's API contract: check-ins, walk-ins, staff links, attendance."""
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from services.registration.attendance import FIGURES
from services.registration.schemas import SECTORS, no_link
from shared.openapi_rules import Stored
from shared.schemas import StrictSchema, UTCDateTime, email_field
from shared.wording import LANGUAGES

RESULTS = ("checked_in", "already_checked_in", "cancelled", "waitlisted", "pending", "expired",
           "not_for_this_event", "invalid_code", "event_cancelled", "event_postponed")


class WalkInSchema(StrictSchema):
    """Someone at the door who did not register; staff type what they say."""

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_link])
    sector = fields.String(required=True, validate=validate.OneOf(SECTORS))
    organization = fields.String(load_default="", validate=validate.Length(max=200))
    email = email_field(load_default=None, allow_none=True, metadata={
        "description": "optional; an address already registered here lets that registration in"})
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))
    privacy_consent = fields.Boolean(required=True, validate=validate.Equal(
        True, error="The person must accept the privacy notice (staff confirm they did)."),
        metadata={"description": "staff confirm the person accepted the privacy notice"})

    @pre_load
    def _trim_email(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            data = {**data, "email": data["email"].strip()}
        return data


class CheckInSchema(StrictSchema):
    """Either the code shown at the door or a walk-in."""

    json_schema = {"oneOf": [{"required": ["code"]}, {"required": ["walk_in"]}]}

    code = fields.String(metadata={
        "description": "the QR code's content (ABIERTO:...) or the short code (1234-K7M4QX)"})
    walk_in = fields.Nested(WalkInSchema)
    rules = (Stored("code", "issued", refers_to="POST /api/v1/events/{event_id}/registrations",
                    es="`code` es uno que la API emitió para un registro de este evento (su firma "
                       "lo prueba); otro es `invalid_code`, o `not_for_this_event`.",
                    en="`code` must be one the API issued for a registration of this event "
                       "(its signature proves it); any other is `invalid_code`, or "
                       "`not_for_this_event`."),)

    @validates_schema
    def _one_of(self, data, **_):
        if ("code" in data) == ("walk_in" in data):
            raise ValidationError("Send either `code` or `walk_in`.", "code")


class AttendeeAtTheDoorSchema(StrictSchema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()


class CheckInAnswerSchema(StrictSchema):
    """checked_in (201) or already_checked_in (200); refusals are problem+json with `result`."""

    result = fields.String(validate=validate.OneOf(RESULTS))
    registration = fields.Nested(AttendeeAtTheDoorSchema)
    checked_in_at = UTCDateTime(metadata={"description": "the first check-in"})


class StaffLinkSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    label = fields.String(load_default="", validate=validate.Length(max=100),
                          metadata={"description": "whom it is for, e.g. \"Puerta norte\""})
    url = fields.String(dump_only=True, metadata={
        "description": "only in the answer that creates it: hand it to door staff"})
    created_at = UTCDateTime(dump_only=True)
    revoked_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null: in use"})


def _figures():
    return {figure: fields.Integer(allow_none=figure == "no_shows", metadata={"description": why})
            for figure, why in FIGURES.items()}


SectorAttendanceSchema = StrictSchema.from_dict(_figures(), name="SectorAttendance")


class AttendanceSchema(StrictSchema.from_dict(_figures(), name="AttendanceFigures")):
    """GET .../attendance; `Accept: text/csv` gives one row per sector and a total row."""

    event_id = fields.Integer()
    ended = fields.Boolean(metadata={"description": "the event has ended: no_shows are known"})
    by_sector = fields.Dict(keys=fields.String(), values=fields.Nested(SectorAttendanceSchema))
