"""Schema pieces every API shares: strict input, UTC datetimes, the page envelope."""
import re
from collections.abc import Mapping
from datetime import datetime, timezone

from apispec import BasePlugin
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from shared.changes import CursorField, Tombstone

MAX_INT = 2**31 - 1  # the database's integer columns
MAX_EMAIL = 254  # RFC 5321's limit, and the length of the email and email-key columns
# Years every page, invite and zone can show (0001 and 9999 overflow once moved to a zone);
# a year outside them is a typing mistake in an event's dates.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)
# PostgreSQL cannot store U+0000 in text, and a lone surrogate cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class WholeNumber(fields.Integer):
    """An integer as JSON and JSON Schema's `integer` have it: 3 or 3.0 (JSON has one kind
    of number), never 3.5, "3" or true."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


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
    """Input schemas reject unknown fields (and say so in the OpenAPI document).

    A rule across fields that a `@validates_schema` enforces is said to the document in
    `json_schema` (e.g. `{"oneOf": [...]}`), merged into the schema's component."""

    json_schema = {}

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


class SchemaRulesPlugin(BasePlugin):
    """apispec: adds each schema's `json_schema` keywords (rules across its fields)."""

    def schema_helper(self, name, definition, schema=None, **kwargs):
        rules = getattr(schema, "json_schema", None)
        return dict(rules) if rules else None


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


class ChangesQuery(PageQuery):
    """A list with a change feed: `changed_since` gives what changed after a cursor."""

    changed_since = CursorField()

    @validates_schema
    def _feed_alone(self, data, **_):
        # A feed gives every change to what the list can show; a filter would hide the
        # change that takes a row out of it, so a mirror filters on its side.
        filters = sorted(set(data) - {"page", "per_page", "changed_since"})
        if "changed_since" in data and filters:
            raise ValidationError(f"changed_since gives every change; it does not combine with "
                                  f"{', '.join(filters)}.", "changed_since")


class TombstoneSchema(Schema):
    """An item that left the list (deleted, erased, cancelled): its id, nothing more."""

    id = fields.Integer(required=True)
    deleted = fields.Boolean(required=True, validate=validate.Equal(True), metadata={"enum": [True]})


class ItemOrTombstone(fields.Nested):
    """A list's item, or on a changes feed the tombstone of one that left it."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, Tombstone):
            return {"id": value.id, "deleted": True}
        return super()._serialize(value, attr, obj, **kwargs)


def item_or_tombstone_property(converter, field, ret, **_):
    """apispec: an ItemOrTombstone is `oneOf` its item's schema and the Tombstone."""
    if not isinstance(field, ItemOrTombstone):
        return {}
    item = dict(ret)
    ret.clear()
    return {"oneOf": [item, converter.resolve_nested_schema(TombstoneSchema)]}


def page_schema(item_schema):
    """`{"items": [...], "page", "per_page", "total"}` for one item schema; with
    `changed_since`: `{"items": [... or tombstones], "per_page", "next_cursor"}`."""
    return Schema.from_dict({
        "items": fields.List(ItemOrTombstone(item_schema)),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total": fields.Integer(),
        "next_cursor": fields.String(metadata={"description": (
            "With `changed_since`: send it as the next `changed_since`; the same cursor back "
            "when nothing changed.")}),
    }, name=f"{item_schema.__name__.removesuffix('Schema')}Page")


def page_body(items, total, query):
    return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}


def feed_body(items, next_cursor, query):
    """A changes answer: what changed after the cursor, oldest first, and where to go on."""
    return {"items": items, "per_page": query["per_page"], "next_cursor": next_cursor}
