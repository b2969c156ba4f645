"""Text in Spanish (canonical) and English (its translation), as every API takes and gives
it: {"es": ..., "en": ...}. Commitments keep the object whole; events take a plain string
too (Spanish) and keep the two languages in two columns."""
from marshmallow import ValidationError, fields, post_load, validate

from shared.schemas import StrictSchema

SHAPE = 'Use a text (Spanish) or an object {"es": ..., "en": ...}.'


def schema(name, max_len, min_len=1, english="", blank=None):
    """A schema for {"es", "en"}: Spanish required (`min_len` to `max_len` characters),
    English optional with the same limit, `english` when left out. `blank`: both are trimmed
    once their length is checked, a Spanish of spaces only is refused with this message, and
    an English of spaces only is none (a person's words, e.g. why an event is called off)."""
    body = {
        "min_len": min_len, "max_len": max_len,  # for TextOrBilingual's OpenAPI schema
        "pattern": r"\S" if blank else None,
        "es": fields.String(required=True, validate=validate.Length(min=min_len, max=max_len)),
        "en": fields.String(load_default=english, allow_none=english is None,
                            validate=validate.Length(max=max_len)),
        "__doc__": "A text in Spanish (canonical) and English (translation).",
    }
    if blank:
        body["_trimmed"] = post_load(lambda self, data, **_: _trimmed(data, blank))
    return type(name, (StrictSchema,), body)


def _trimmed(data, blank):
    spanish = data["es"].strip()
    if not spanish:
        raise ValidationError(blank, "es")
    return {"es": spanish, "en": (data.get("en") or "").strip() or None}


class TextOrBilingual(fields.Field):
    """In: a plain string (the Spanish, with no English) or {"es", "en"}, checked by
    `bilingual`; loads as {"es", "en"} ("" English is none). Out: {"es", "en" or null}, the
    Spanish from this attribute and the English from `english_attribute` (None: a field
    only read, never shown)."""

    def __init__(self, bilingual, english_attribute=None, **kwargs):
        spanish = {"type": "string", "minLength": bilingual.min_len, "maxLength": bilingual.max_len}
        if bilingual.pattern:
            spanish["pattern"] = bilingual.pattern
        english = {"type": ["string", "null"], "maxLength": bilingual.max_len}
        metadata = {"oneOf": [spanish, {"type": "object", "properties": {
            "es": spanish, "en": english}, "required": ["es"], "additionalProperties": False}],
            **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.bilingual, self.english_attribute = bilingual(), english_attribute

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                loaded = self.bilingual.load({"es": value})
            except ValidationError as error:  # about the string itself, not a key of it
                raise ValidationError(error.messages["es"]) from None
        elif isinstance(value, dict):
            loaded = self.bilingual.load(value)  # its ValidationError says which key is wrong
        else:
            raise ValidationError(SHAPE)
        return {"es": loaded["es"], "en": loaded.get("en") or None}

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, dict):  # a loaded value (the default the document shows)
            return value
        english = getattr(obj, self.english_attribute, None) if self.english_attribute else None
        return {"es": value, "en": english or None}


def flatten(data, names):
    """Loaded {"name": {"es", "en"}} -> the columns `name` (Spanish) and `name_en`."""
    for name in names:
        if name in data:
            text = data.pop(name)
            data[name], data[f"{name}_en"] = text["es"], text["en"]
    return data
