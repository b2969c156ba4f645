"""An event's title and description in Spanish and English: a plain string or {"es", "en"} in,
{"es", "en"} out, the English searched too, bad shapes refused with nothing written."""
import pytest

from tests.integration.problems import assert_problem

TITLE = {"es": "Presentación del Plan de Acción", "en": "Presenting the Action Plan"}
DESCRIPTION = {"es": "Panel con ciudadanía.", "en": "A panel with citizens."}


def test_an_object_title_and_description_come_back_as_sent(registration_app, make_event):
    client = registration_app[0]
    made = make_event(title=TITLE, description=DESCRIPTION)
    assert made["title"] == TITLE and made["description"] == DESCRIPTION
    again = client.get(f"/api/v1/events/{made['id']}").get_json()
    assert again["title"] == TITLE and again["description"] == DESCRIPTION


@pytest.mark.parametrize("sent, stored", [
    ("Taller", {"es": "Taller", "en": None}),
    ({"es": "Taller"}, {"es": "Taller", "en": None}),
    ({"es": "Taller", "en": ""}, {"es": "Taller", "en": None}),  # empty English: none
    ({"es": "Taller", "en": None}, {"es": "Taller", "en": None}),
], ids=["string", "spanish-only", "empty-english", "null-english"])
def test_spanish_alone_dumps_a_null_english(make_event, sent, stored):
    assert make_event(title=sent)["title"] == stored


def test_a_description_may_be_left_out(make_event):
    assert make_event(description=...)["description"] == {"es": "", "en": None}


def test_patch_replaces_both_languages(registration_app, organiser_headers, make_event):
    """A title is one value: an object sets both; a plain string is the Spanish alone."""
    client = registration_app[0]
    made = make_event(title=TITLE)
    path = f"/api/v1/events/{made['id']}"
    changed = client.patch(path, json={"title": {"es": "Nuevo", "en": "New"}},
                           headers=organiser_headers)
    assert changed.status_code == 200 and changed.get_json()["title"] == {"es": "Nuevo", "en": "New"}
    plain = client.patch(path, json={"title": "Sólo español"}, headers=organiser_headers)
    assert plain.get_json()["title"] == {"es": "Sólo español", "en": None}
    untouched = client.patch(path, json={"venue": "Sala 2"}, headers=organiser_headers)
    assert untouched.get_json()["title"] == {"es": "Sólo español", "en": None}


@pytest.mark.parametrize("field, value", [
    ("title", {"en": "English only"}),
    ("title", {"es": "Taller", "fr": "Atelier"}),
    ("title", {"es": ""}),
    ("title", ""),
    ("title", "x" * 201),
    ("title", {"es": "Taller", "en": "x" * 201}),
    ("title", {"es": "a\x00b"}),
    ("title", ["Taller"]),
    ("title", 7),
    ("title", None),
    ("description", {"es": "x" * 5001}),
    ("description", {"es": "Datos", "en": "x" * 5001}),
    ("description", {"es": "Datos", "de": "Daten"}),
    ("description", 3),
], ids=["no-spanish", "unknown-key", "empty-spanish", "empty-string", "long-string",
        "long-english", "nul", "list", "number", "null", "long-description",
        "long-english-description", "unknown-description-key", "number-description"])
def test_a_bad_shape_is_a_422_naming_the_field(registration_app, organiser_headers,
                                               future_event, nothing_written, field, value):
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event(**{field: value}),
                               headers=organiser_headers)
        assert_problem(response, 422, field)


def test_a_bad_shape_in_a_patch_changes_nothing(registration_app, organiser_headers,
                                                make_event):
    client = registration_app[0]
    made = make_event(title=TITLE)
    response = client.patch(f"/api/v1/events/{made['id']}",
                            json={"title": {"es": "Nuevo", "fr": "Nouveau"}, "venue": "Otra"},
                            headers=organiser_headers)
    assert_problem(response, 422, "title")
    again = client.get(f"/api/v1/events/{made['id']}").get_json()
    assert again["title"] == TITLE and again["venue"] == made["venue"]


def test_the_openapi_document_offers_both_shapes(registration_app):
    document = registration_app[0].get("/api/v1/openapi.json").get_json()
    title = document["components"]["schemas"]["Event"]["properties"]["title"]
    assert [shape["type"] for shape in title["oneOf"]] == ["string", "object"]
