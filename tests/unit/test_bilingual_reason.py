"""The call-off reason is shared/bilingual's string-or-{es,en} field with trimming: what it
accepts and gives is what the API answered before it moved there."""
import pytest
from marshmallow import ValidationError

from services.registration.schemas import CallOffSchema


@pytest.mark.parametrize("given, loaded", [
    ("  Por lluvia  ", {"es": "Por lluvia", "en": None}),
    ({"es": " a ", "en": " b "}, {"es": "a", "en": "b"}),
    ({"es": "a", "en": "  "}, {"es": "a", "en": None}),
    ({"es": "a", "en": ""}, {"es": "a", "en": None}),
    ({"es": "a", "en": None}, {"es": "a", "en": None}),
    ({"es": "a"}, {"es": "a", "en": None}),
    ("x" * 1000, {"es": "x" * 1000, "en": None}),
])
def test_accepted_reasons_load_trimmed(given, loaded):
    assert CallOffSchema().load({"reason": given}) == {"reason": loaded}


@pytest.mark.parametrize("given, said", [
    ("   ", "Say why in Spanish."), ({"es": "  "}, "Say why in Spanish."),
    ("", "Length must be between 1 and 1000."), ("x" * 1001, "Length must be between 1 and 1000."),
    (5, "Use a text"), (["x"], "Use a text"), (None, "may not be null"),
    ({"en": "Rain"}, "Missing data"), ({"es": "a", "fr": "b"}, "Unknown field"),
    ({"es": "a", "en": "x" * 1001}, "Longer than maximum length 1000."),
])
def test_refused_reasons_say_why(given, said):
    with pytest.raises(ValidationError) as refused:
        CallOffSchema().load({"reason": given})
    assert said in str(refused.value.messages["reason"])
