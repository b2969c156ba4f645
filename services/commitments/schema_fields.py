"""Field builders every commitments schema shares: bounded text, bilingual text, OGP codes."""
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from services.commitments.vocabularies import codes, normalise
from shared import bilingual
from shared.schemas import URL_PATTERN, StrictSchema


def _no_nul(value):
    # PostgreSQL cannot store U+0000; StrictSchema checks only top-level strings.
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


def string(max_len, min_len=0, **kwargs):
    """A bounded string."""
    return fields.String(validate=[validate.Length(min=min_len, max=max_len), _no_nul], **kwargs)


Title = bilingual.schema("Title", 500)
LongText = bilingual.schema("LongText", 20000)


def title(**kwargs):
    return fields.Nested(Title, **kwargs)


def long_text(**kwargs):
    return fields.Nested(LongText, allow_none=True, load_default=None, **kwargs)


def code(vocabulary, **kwargs):
    """One code of a vocabulary (GET /api/v1/vocabularies lists them with their labels)."""
    return fields.String(validate=validate.OneOf(codes(vocabulary)), **kwargs)


def _unique(values):
    if len(set(values)) != len(values):
        raise ValidationError("Must not repeat a code.")


def code_list(vocabulary, **kwargs):
    return fields.List(code(vocabulary), validate=_unique, load_default=list,
                       metadata={"uniqueItems": True}, **kwargs)




class Url(fields.Url):
    """A link, trimmed first: one pasted with a trailing newline is still the link."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value.strip() if isinstance(value, str) else value,
                                    attr, data, **kwargs)


def url(**kwargs):
    return Url(schemes={"http", "https"}, validate=[
        validate.Length(max=1000),
        validate.Regexp(URL_PATTERN, error="Use an http(s) link to a named host, e.g. "
                                           "https://chihuahua.gob.mx/acta.pdf")],
        metadata={"pattern": URL_PATTERN}, **kwargs)


class OgpId(fields.String):
    """OGP's commitment id, e.g. MXCHH0003 (stored in capitals)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().upper()


def ogp_id(**kwargs):
    return OgpId(allow_none=True, load_default=None, validate=validate.Regexp(
        r"^[A-Z]{2}[A-Z0-9]{0,14}[0-9]{4}\Z", error="Use OGP's commitment id, e.g. MXCHH0003."),
        metadata={"example": "MXCHH0003"}, **kwargs)


class Institution(StrictSchema):
    name = string(300, 1, required=True)
    role = code("institution_roles", required=True)


class Evidence(StrictSchema):
    title = string(300, 1, required=True)
    url = url(required=True)


class Why(StrictSchema):
    """Why a change was made, kept with it in the public history."""

    justification = string(2000, allow_none=True, load_default=None, load_only=True)
    evidence = fields.List(fields.Nested(Evidence), load_default=list, load_only=True,
                           validate=validate.Length(max=20))


class NormalisedCodes(Schema):
    """Accept the spellings OGP's own documents use for a code (e.g. "Completed")."""

    VOCABULARY_OF = {}  # input key -> vocabulary

    @pre_load
    def _normalise(self, data, **_):
        if isinstance(data, dict):
            data = {key: normalise(self.VOCABULARY_OF[key], value)
                    if key in self.VOCABULARY_OF else value for key, value in data.items()}
        return data
