"""Schema pieces every API shares: strict input, UTC datetimes, the page envelope."""
import re
from collections.abc import Mapping
from datetime import datetime, timezone

from apispec import BasePlugin
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from shared import openapi_rules
from shared.changes import CursorField, Tombstone

MAX_INT = 2**31 - 1  # the database's integer columns
MAX_EMAIL = 254  # RFC 5321's limit, and the length of the email and email-key columns
# Years every page, invite and zone can show (0001 and 9999 overflow once moved to a zone);
# a year outside them is a typing mistake in an event's dates.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)
# The same as the document says it of the text sent: years 1901-2998 with any offset, 1900
# only at or behind UTC, 2999 only at or ahead of it, so the moment is in range in UTC too
# (and the answers, always in UTC, match it). A few more near the edges are accepted.
DATETIME_PATTERN = (r"^(?:(?:190[1-9]|19[1-9][0-9]|2[0-8][0-9]{2}|29[0-8][0-9]|299[0-8])-.*"
                    r"|1900-.*(?:[Zz]|-[0-9]{2}:[0-9]{2}|\+00:00)"
                    r"|2999-.*(?:[Zz]|\+[0-9]{2}:[0-9]{2}|-00:00))$")
# A public link: http(s), a host name with a top-level domain (letters beyond ASCII too, as
# marshmallow's URL check takes them), an optional port, path and query. A field shows this
# pattern and enforces it beside marshmallow's check, so the two cannot differ.
_LETTER = r"A-Za-z\u00a1-\ud7ff\ue000-\uffff"  # escapes both Python and JSON Schema read
_LABEL = rf"[0-9{_LETTER}](?:[0-9{_LETTER}-]{{0,61}}[0-9{_LETTER}])?"
URL_PATTERN = rf"^https?://(?:{_LABEL}\.)+[{_LETTER}]{{2,63}}(?::[0-9]{{1,5}})?(?:/\S*|\?\S+)?$"
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

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metadata = {"pattern": DATETIME_PATTERN, **self.metadata}

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

    A rule across fields that JSON Schema can say goes in `json_schema` (e.g. `{"oneOf":
    [...]}`), merged into the schema's component; one it cannot say goes in `rules`
    (shared.openapi_rules), checked on load and listed on the operation."""

    json_schema = {}
    rules = ()  # shared.openapi_rules: rules JSON Schema cannot say, checked and stated

    class Meta:
        unknown = RAISE

    @validates_schema
    def _keeps_its_rules(self, data, **_):
        openapi_rules.check(self, data)

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
    # A feed gives every change to what the list can show; a filter would hide the change
    # that takes a row out of it, so a mirror filters on its side.
    rules = (openapi_rules.Alone("changed_since"),)


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
