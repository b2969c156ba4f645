"""Schema pieces every API shares: strict input, UTC datetimes, the page envelope."""
from marshmallow import RAISE, Schema, fields, validate


class StrictSchema(Schema):
    """Input schemas reject unknown fields (and say so in the OpenAPI document)."""

    class Meta:
        unknown = RAISE


class PageQuery(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
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
