"""Schema pieces every API shares: strict input, UTC datetimes, the page envelope."""
import re
from collections.abc import Mapping
from datetime import datetime, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

MAX_INT = 2**31 - 1  # the database's integer columns
MAX_EMAIL = 254  # RFC 5321's limit, and the length of the email and email-key columns
# Years every page, invite and zone can show (0001 and 9999 overflow once moved to a zone);
# a year outside them is a typing mistake in an event's dates.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)
# PostgreSQL cannot store U+0000 in text, and a lone surrogate cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UTCDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset (or Z) in, between 1900 and 2999; always UTC out, as stored."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(timezone.utc)
        except OverflowError:  # 0001-01-01 with a positive offset is before year 1 in UTC
            moment = None
        if moment is None or not EARLIEST <= moment < LATEST:
            raise ValidationError("Use a date between the years 1900 and 2999.")
        return moment

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(
            value.astimezone(timezone.utc), attr, obj, **kwargs)


class StrictSchema(Schema):
    """Input schemas reject unknown fields (and say so in the OpenAPI document)."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _storable_text(self, data, **_):
        # Refused alike on every backend, at any depth (lists of names, nested titles).
        if isinstance(data, Mapping):
            bad = [key for key, value in data.items() if _unstorable(value)]
            if bad:
                raise ValidationError({key: [
                    "Must not contain NUL characters or unpaired surrogates."] for key in bad})
        return data


def _unstorable(value):
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, Mapping):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


def normalize_email(email):
    """The key that makes "Ana@X.org " and "ana@x.org" one person (a registrant, a follower)."""
    return email.strip().lower()


def email_field(**kwargs):
    """An email address that fits its column, and still fits once lower-cased as the key:
    a few letters grow when lower-cased ("İ" becomes two characters)."""
    return fields.Email(validate=[validate.Length(max=MAX_EMAIL), _fits_lower_cased], **kwargs)


def _fits_lower_cased(email):
    if len(email.lower()) > MAX_EMAIL:
        raise ValidationError(f"Longer than {MAX_EMAIL} characters once lower-cased.")


class PageQuery(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_INT))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_schema(item_schema):
    """`{"items": [...], "page", "per_page", "total"}` for one item schema."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total": fields.Integer(),
    }, name=f"{item_schema.__name__.removesuffix('Schema')}Page")


def page_body(items, total, query):
    return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}
