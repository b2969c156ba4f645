"""Rules across a request's fields that JSON Schema cannot say (one date after another, two
parameters given together, a reference to a stored row), stated once on the schema that
loads the request (`rules = (...)`).

A rule the request alone can show is checked when the schema loads (422, `errors` naming
the field); one that needs stored state is checked by the domain and only stated here.
Either way each operation's OpenAPI entry lists its rules as `x-abierto-rules`, so a client
(and the contract test) knows every rule a schema-valid request must also keep.
"""
from dataclasses import dataclass
from typing import ClassVar

from marshmallow import ValidationError, fields

UNPROCESSABLE = 422
PROBLEM_TYPE = "about:blank"  # shared.errors.problem: the status says what kind


@dataclass(frozen=True)
class Rule:
    """One rule: `kind` names it in the document; `es`/`en` say it to people."""

    kind: ClassVar[str] = ""
    checked_on_load: ClassVar[bool] = True

    def name(self):
        return self.kind

    def applies(self, schema):
        """Whether the rule has something to say about `schema`'s fields."""
        return True

    def broken(self, data, schema):
        """The field to blame if loaded `data` breaks the rule, else None."""
        return None

    def words(self, schema):
        """(Spanish, English)."""
        raise NotImplementedError

    def terms(self, schema):
        """The rule's own members in the document."""
        return {}

    def stated(self, schema, at=""):
        es, en = self.words(schema)
        entry = {"rule": self.name(), **self.terms(schema), "status": UNPROCESSABLE,
                 "type": PROBLEM_TYPE, "es": es, "en": en}
        if at:
            entry["at"] = at
        return entry


def _key(schema, name):
    """Where the field the document calls `name` is in loaded data (its attribute)."""
    field = schema.fields.get(name)
    return (field.attribute or name) if field is not None else name


@dataclass(frozen=True)
class Order(Rule):
    """`then` on or after `first` (after, if `strict`); a null or missing one is not compared.
    In a change (PATCH) a field left out counts as its stored value."""

    first: str
    then: str
    strict: bool = False
    kind: ClassVar[str] = "order"

    def applies(self, schema):
        return self.first in schema.fields or self.then in schema.fields

    def broken(self, data, schema):
        a, b = data.get(_key(schema, self.first)), data.get(_key(schema, self.then))
        if a is None or b is None:
            return None
        return self.then if (b <= a if self.strict else b < a) else None

    def terms(self, schema):
        # In a change, or when the body holds only one of the two, the other is stored.
        both = self.first in schema.fields and self.then in schema.fields
        stored = bool(schema.partial) or not both
        return {"first": self.first, "then": self.then, "strict": self.strict, "stored": stored}

    def words(self, schema):
        if self.strict:
            return (f"`{self.then}` debe ser posterior a `{self.first}`.",
                    f"`{self.then}` must be after `{self.first}`.")
        return (f"`{self.then}` no puede ser anterior a `{self.first}`.",
                f"`{self.then}` must not be before `{self.first}`.")


@dataclass(frozen=True)
class Together(Rule):
    """Both or neither."""

    fields: tuple
    kind: ClassVar[str] = "together"

    def broken(self, data, schema):
        given = [name for name in self.fields if _key(schema, name) in data]
        return given[0] if given and len(given) < len(self.fields) else None

    def terms(self, schema):
        return {"fields": list(self.fields)}

    def words(self, schema):
        quoted = [f"`{name}`" for name in self.fields]
        return (f"{' y '.join(quoted)} van juntos, o ninguno.",
                f"Give {' and '.join(quoted)} together, or neither.")


@dataclass(frozen=True)
class Alias(Rule):
    """`old` is an earlier name of `new`: given both, they must say the same."""

    old: str
    new: str
    kind: ClassVar[str] = "alias"

    def broken(self, data, schema):
        if self.old in data and self.new in data and data[self.old] != data[self.new]:
            return self.old
        return None

    def terms(self, schema):
        return {"old": self.old, "new": self.new}

    def words(self, schema):
        return (f"`{self.old}` es el nombre anterior de `{self.new}`: si van los dos, con el "
                "mismo valor.", f"`{self.old}` is the old name of `{self.new}`: if both are "
                "given, they must be equal.")


@dataclass(frozen=True)
class Alone(Rule):
    """`field` takes none of the schema's other fields but `besides`."""

    field: str
    besides: tuple = ("page", "per_page")
    kind: ClassVar[str] = "alone"

    def applies(self, schema):
        return bool(self.excluded(schema))

    def excluded(self, schema):
        return sorted(set(schema.load_fields) - {self.field, *self.besides})

    def broken(self, data, schema):
        if self.field in data and any(name in data for name in self.excluded(schema)):
            return self.field
        return None

    def terms(self, schema):
        return {"field": self.field, "excludes": self.excluded(schema)}

    def words(self, schema):
        others = ", ".join(f"`{n}`" for n in self.excluded(schema))
        return (f"`{self.field}` no se combina con {others}.",
                f"`{self.field}` does not combine with {others}.")


@dataclass(frozen=True)
class Stored(Rule):
    """A rule against stored state, checked by the domain: what it is and its sentences."""

    field: str
    what: str
    es: str
    en: str
    refers_to: str = ""  # the operation that reads what `field` must name
    checked_on_load: ClassVar[bool] = False

    def name(self):
        return self.what

    def applies(self, schema):
        return self.field in schema.fields

    def terms(self, schema):
        return {"field": self.field, **({"refers_to": self.refers_to} if self.refers_to else {})}

    def words(self, schema):
        return self.es, self.en


def check(schema, data):
    """Raise a field's ValidationError for the first rule of `schema` that `data` breaks."""
    for rule in getattr(schema, "rules", ()):
        if rule.checked_on_load and rule.applies(schema):
            field = rule.broken(data, schema)
            if field is not None:
                raise ValidationError(rule.words(schema)[1], field)


def stated(schema, at=""):
    """Every rule of `schema` and of the schemas nested in it, as the document lists them
    (`at`: a JSON pointer to the object it applies to, `*` for each item of a list)."""
    found = [rule.stated(schema, at) for rule in getattr(schema, "rules", ())
             if rule.applies(schema)]
    for name, field in schema.load_fields.items() if hasattr(schema, "load_fields") else ():
        inner, where = field, f"{at}/{name}"
        if isinstance(inner, fields.List):
            inner, where = inner.inner, f"{where}/*"
        if isinstance(inner, fields.Nested):
            found += stated(inner.schema, where)
    return found
