"""Schema pieces every API shares: strict input, UTC datetimes, the page envelope."""
from datetime import timezone

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

MAX_INT = 2**31 - 1  # the database's integer columns


class UTCDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset (or Z) in; always UTC out, as it is stored."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(timezone.utc)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(
            value.astimezone(timezone.utc), attr, obj, **kwargs)


class StrictSchema(Schema):
    """Input schemas reject unknown fields (and say so in the OpenAPI document)."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _no_nul_bytes(self, data, **_):
        # PostgreSQL cannot store U+0000 in text; refuse it for every backend alike.
        if isinstance(data, dict):
            bad = [k for k, v in data.items() if isinstance(v, str) and "\x00" in v]
            if bad:
                raise ValidationError({k: ["Must not contain NUL characters."] for k in bad})
        return data


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
