"""What the transparency log's endpoints take and give (see transparency.py)."""
from marshmallow import Schema, fields, validate

from shared.openapi_rules import Order, Together
from shared.schemas import MAX_INT, StrictSchema

HEX_HASH = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="A SHA-256 hash in hex: 64 characters.")


def Size(**kwargs):
    return fields.Integer(validate=validate.Range(min=1, max=MAX_INT), **kwargs)


def Hashes(**kwargs):
    return fields.List(fields.String(), **kwargs)


class SignedHeadSchema(Schema):
    size = fields.Integer(metadata={"description": "entries in the log"})
    root_hash = fields.String(metadata={"description": "RFC 9162 tree hash, hex"})
    timestamp = fields.String(metadata={"description": "when it was signed, UTC"})
    signature = fields.String(metadata={"description": "Ed25519 over the signed text, base64"})
    key_id = fields.String(metadata={"description": "SHA-256 of the public key, hex"})


class PublicKeySchema(Schema):
    algorithm = fields.String()
    public_key = fields.String(metadata={"description": "the raw 32-byte key, base64"})
    key_id = fields.String()
    signed_text = fields.String(metadata={"description": "what each head's signature covers"})


class InclusionQuery(StrictSchema):
    size = Size(metadata={"description": "the tree's size; default: the whole log"})


class InclusionSchema(Schema):
    entry_id = fields.Integer()
    leaf_index = fields.Integer()
    size = fields.Integer()
    leaf_hash = fields.String()
    root_hash = fields.String()
    audit_path = Hashes(metadata={"description": "RFC 9162 inclusion proof, bottom first"})


class ConsistencyQuery(StrictSchema):
    first = Size(required=True)
    second = Size(metadata={"description": "default: the whole log"})
    rules = (Order("first", "second"),)


class ConsistencySchema(Schema):
    first = fields.Integer()
    second = fields.Integer()
    first_root_hash = fields.String()
    second_root_hash = fields.String()
    proof = Hashes(metadata={"description": "RFC 9162 consistency proof"})


class VerifyQuery(StrictSchema):
    """Both or neither: a head someone saved (from an alert, or GET /history/head)."""

    size = Size()
    root = fields.String(validate=HEX_HASH)
    rules = (Together(("size", "root")),)


class VerifySchema(Schema):
    ok = fields.Boolean()
    entries = fields.Integer(metadata={"description": "when ok, or checked against a head"})
    first_bad = fields.Integer(metadata={"description": "when not ok: the first entry that fails"})
    size = fields.Integer(metadata={"description": "the saved head's size"})
    root_hash = fields.String(metadata={"description": "the saved head's root hash"})
