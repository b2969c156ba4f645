"""What organisers and citizens see from the registration API, against SQLite and PostgreSQL."""
import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from services.registration.app import create_app
from services.registration.facts import Links
from services.registration.models import ApiToken
from services.registration.seed import seed
from tests.integration.problems import PROBLEM, assert_problem

CONTRACT_FIELDS = {
    "title", "description", "category", "starts_at", "ends_at", "timezone", "venue", "address",
    "city", "country", "latitude", "longitude", "host_organization", "partners", "capacity",
    "related_commitments",
    "registration_closes_at", "language", "confirm_by_email", "id", "seats_left", "registration_open",
    "created_at", "updated_at", "status", "status_reason", "online_url", "reminders",
}


def instant(text_):
    return datetime.fromisoformat(text_).astimezone(timezone.utc)


def cancel_path(settings, registration_id):
    return urlsplit(Links(settings.public_base_url, settings.keys).cancel(registration_id)).path


def types(facts):
    return [fact["type"] for fact in facts]


# --- publishing and reading events ----------------------------------------------------------

def test_publishing_an_event_answers_201_with_every_contract_field(
        registration_app, organiser_headers, future_event):
    """The organiser gets back the whole event, its id, seats left and an open registration."""
    client = registration_app[0]
    body = future_event()
    response = client.post("/api/v1/events", json=body, headers=organiser_headers)
    assert response.status_code == 201
    event = response.get_json()
    assert set(event) == CONTRACT_FIELDS
    for name in ("category", "timezone", "venue", "address", "city",
                 "country", "latitude", "longitude", "host_organization", "partners",
                 "capacity", "language"):
        assert event[name] == body[name], name
    for name in ("title", "description"):  # a plain string is the Spanish, with no English
        assert event[name] == {"es": body[name], "en": None}, name
    assert instant(event["starts_at"]) == instant(body["starts_at"])
    assert instant(event["ends_at"]) == instant(body["ends_at"])
    assert instant(event["registration_closes_at"]) == instant(body["starts_at"])  # the default
    assert isinstance(event["id"], int)
    assert event["seats_left"] == 2 and event["registration_open"] is True
    assert instant(event["created_at"]) and instant(event["updated_at"])


def test_an_event_with_only_the_required_fields_gets_the_defaults(
        registration_app, organiser_headers):
    """Title, times, zone and host are enough; capacity defaults to unlimited."""
    client = registration_app[0]
    response = client.post("/api/v1/events", headers=organiser_headers, json={
        "title": "Taller", "starts_at": "2031-01-10T10:00:00-06:00",
        "ends_at": "2031-01-10T11:00:00-06:00", "timezone": "America/Chihuahua",
        "host_organization": "Municipio"})
    assert response.status_code == 201
    event = response.get_json()
    assert event["capacity"] is None and event["seats_left"] is None
    assert event["language"] == "es" and event["partners"] == [] and event["country"] == ""
    assert (event["status"], event["status_reason"]) == ("scheduled", None)
    assert (event["online_url"], event["reminders"]) == ("", None)  # null: REMINDERS


def test_an_event_can_be_read_back_by_id(registration_app, make_event):
    """GET /events/{id} is public and shows what was published."""
    client = registration_app[0]
    made = make_event()
    response = client.get(f"/api/v1/events/{made['id']}")
    assert response.status_code == 200
    event = response.get_json()
    assert set(event) == CONTRACT_FIELDS
    assert event["id"] == made["id"] and event["title"] == made["title"]
    assert instant(event["starts_at"]) == instant(made["starts_at"])


def test_patch_changes_a_field(registration_app, organiser_headers, make_event):
    """A PATCH changes only what it names; a later GET shows it."""
    client = registration_app[0]
    made = make_event()
    response = client.patch(f"/api/v1/events/{made['id']}", json={"venue": "Sala Cabildo"},
                            headers=organiser_headers)
    assert response.status_code == 200
    assert response.get_json()["venue"] == "Sala Cabildo"
    again = client.get(f"/api/v1/events/{made['id']}").get_json()
    assert again["venue"] == "Sala Cabildo" and again["title"] == made["title"]


@pytest.fixture
def catalogue(make_event):
    """Three events: two upcoming (Chihuahua MX, Madrid ES) and one past (Juárez MX)."""
    make_event(title="Panel de gobierno abierto", city="Chihuahua", country="MX",
               starts_at="2031-03-01T10:00:00-06:00", ends_at="2031-03-01T12:00:00-06:00")
    make_event(title={"es": "Taller de datos abiertos", "en": "Open data workshop"},
               city="Madrid", country="ES", timezone="Europe/Madrid",
               description={"es": "Datos", "en": "Spreadsheets and maps"},
               starts_at="2031-02-01T10:00:00+01:00", ends_at="2031-02-01T12:00:00+01:00")
    make_event(title="Rendición de cuentas 2024", city="Ciudad Juárez", country="MX",
               starts_at="2024-05-31T10:00:00-06:00", ends_at="2024-05-31T12:00:00-06:00")


@pytest.mark.parametrize("query, titles", [
    ("", ["Panel de gobierno abierto", "Taller de datos abiertos", "Rendición de cuentas 2024"]),
    ("when=upcoming", ["Taller de datos abiertos", "Panel de gobierno abierto"]),
    ("when=past", ["Rendición de cuentas 2024"]),
    ("q=taller", ["Taller de datos abiertos"]),
    ("q=ABIERTO", ["Panel de gobierno abierto", "Taller de datos abiertos"]),
    ("country=MX", ["Panel de gobierno abierto", "Rendición de cuentas 2024"]),
    ("country=es", ["Taller de datos abiertos"]),
    ("city=chihuahua", ["Panel de gobierno abierto"]),
    ("when=upcoming&country=MX", ["Panel de gobierno abierto"]),
    ("q=workshop", ["Taller de datos abiertos"]),
    ("q=spreadsheets", ["Taller de datos abiertos"]),
    ("q=nothing-matches", []),
], ids=["all", "upcoming", "past", "q", "q-case", "country", "country-lower", "city",
        "combined", "q-english-title", "q-english-description", "none"])
def test_the_list_filters(registration_app, catalogue, query, titles):
    """Anyone can list events by time, text, country and city."""
    response = registration_app[0].get(f"/api/v1/events?{query}")
    assert response.status_code == 200
    page = response.get_json()
    assert [e["title"]["es"] for e in page["items"]] == titles
    assert page["total"] == len(titles)


def test_the_list_is_paginated(registration_app, catalogue):
    """Pages carry items, page, per_page and the total."""
    client = registration_app[0]
    first = client.get("/api/v1/events?per_page=2").get_json()
    assert set(first) == {"items", "page", "per_page", "total"}
    assert (first["page"], first["per_page"], first["total"], len(first["items"])) == (1, 2, 3, 2)
    second = client.get("/api/v1/events?per_page=2&page=2").get_json()
    assert (second["page"], second["total"], len(second["items"])) == (2, 3, 1)
    ids = {e["id"] for e in first["items"]} | {e["id"] for e in second["items"]}
    assert len(ids) == 3
    beyond = client.get("/api/v1/events?per_page=2&page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 3


def test_the_default_page_size_is_20(registration_app):
    """Without parameters the first page of 20 is returned."""
    page = registration_app[0].get("/api/v1/events").get_json()
    assert page == {"items": [], "page": 1, "per_page": 20, "total": 0}


# --- registering ----------------------------------------------------------------------------

def test_registering_for_an_open_event_is_confirmed(registration_app, make_event, register,
                                                    outbox_facts):
    """A citizen gets 201 confirmed; the receipt holds no name or email."""
    client, db, _ = registration_app
    event = make_event()
    response = register(event["id"], 1)
    assert response.status_code == 201
    receipt = response.get_json()
    assert set(receipt) == {"id", "event_id", "status", "created_at"}
    assert receipt["status"] == "confirmed" and receipt["event_id"] == event["id"]
    text_ = response.get_data(as_text=True)
    assert "persona1@example.org" not in text_ and "Persona 1" not in text_
    (fact,) = outbox_facts(db)
    assert fact["type"] == "registration.confirmed"
    assert fact["subject"] == f"events/{event['id']}/registrations/{receipt['id']}"
    assert fact["data"]["registration"]["email"] == "persona1@example.org"
    assert fact["data"]["registration"]["cancel_url"].startswith(
        "http://abierto.test/registrations/cancel/")
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["seats_left"] == 1


def test_registering_again_with_the_same_email_returns_the_same_registration(
        registration_app, make_event, register, outbox_facts):
    """The same person (other letter case) gets 200 and the same id; only one email is queued."""
    db = registration_app[1]
    event = make_event()
    first = register(event["id"], 1, email="ana.lopez@example.org")
    again = register(event["id"], 1, email="ANA.Lopez@Example.ORG", name="Ana otra vez")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["status"] == "confirmed"
    assert types(outbox_facts(db)) == ["registration.confirmed"]


def test_registering_again_with_spaces_around_the_email_returns_the_same_registration(
        registration_app, make_event, register):
    """An address pasted with spaces around it is recognised as the same person."""
    event = make_event()
    first = register(event["id"], 1, email="ana@example.org")
    again = register(event["id"], 1, email="  ana@example.org ")
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]


def test_registering_for_a_full_event_puts_you_on_the_waiting_list(
        registration_app, make_event, register, outbox_facts):
    """Once the seats are gone the answer is 201 waitlisted, and that is the email queued."""
    client, db, _ = registration_app
    event = make_event(capacity=1)
    assert register(event["id"], 1).get_json()["status"] == "confirmed"
    response = register(event["id"], 2)
    assert response.status_code == 201 and response.get_json()["status"] == "waitlisted"
    assert types(outbox_facts(db)) == ["registration.confirmed", "registration.waitlisted"]
    assert outbox_facts(db)[1]["data"]["registration"]["status"] == "waitlisted"
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["seats_left"] == 0


def _at_once(registration_app, event_id, bodies, headers=None):
    """POST the registrations from 8 threads at once (own clients, own DB connections)."""
    app = registration_app[0].application

    def post(body):
        return app.test_client().post(f"/api/v1/events/{event_id}/registrations", json=body,
                                      headers=headers)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, bodies))


def test_a_rush_for_the_last_seats_never_overbooks(
        registration_app, make_event, person, outbox_facts, kiosk_headers):
    """Many people registering at once: exactly `capacity` confirmed, the rest waiting."""
    client, db, _ = registration_app
    event = make_event(capacity=3)
    answers = _at_once(registration_app, event["id"], [person(n) for n in range(24)],
                       kiosk_headers)
    assert [a.status_code for a in answers] == [201] * 24
    statuses = [a.get_json()["status"] for a in answers]
    assert statuses.count("confirmed") == 3 and statuses.count("waitlisted") == 21
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["seats_left"] == 0
    assert sorted(types(outbox_facts(db))) == (
        ["registration.confirmed"] * 3 + ["registration.waitlisted"] * 21)


def test_the_same_email_at_once_is_still_one_registration(
        registration_app, make_event, person, outbox_facts, kiosk_headers):
    """Double-clicks from several tabs: one 201, the others 200 with the same id, one fact."""
    db = registration_app[1]
    event = make_event()
    answers = _at_once(registration_app, event["id"], [person(1)] * 8, kiosk_headers)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert types(outbox_facts(db)) == ["registration.confirmed"]


def test_privacy_consent_yes_is_accepted_as_true(registration_app, make_event, register):
    """marshmallow's Boolean reads "yes" as true, so the registration goes through."""
    event = make_event()
    response = register(event["id"], 1, privacy_consent="yes")
    assert response.status_code == 201


def test_more_capacity_promotes_the_first_person_waiting(
        registration_app, organiser_headers, make_event, register, outbox_facts,
        registration_status):
    """Raising the capacity by one confirms whoever has waited longest, and emails them."""
    client, db, _ = registration_app
    event = make_event(capacity=1)
    register(event["id"], 1)
    second = register(event["id"], 2).get_json()["id"]
    third = register(event["id"], 3).get_json()["id"]
    response = client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 2},
                            headers=organiser_headers)
    assert response.status_code == 200 and response.get_json()["seats_left"] == 0
    assert registration_status(db, second) == "confirmed"
    assert registration_status(db, third) == "waitlisted"
    last = outbox_facts(db)[-1]
    assert last["type"] == "registration.promoted"
    assert last["data"]["registration"]["id"] == second
    assert last["data"]["registration"]["status"] == "confirmed"


def test_capacity_below_the_confirmed_count_is_refused(
        registration_app, organiser_headers, make_event, register, nothing_written):
    """An organiser cannot shrink an event below the people already confirmed."""
    client = registration_app[0]
    event = make_event(capacity=3)
    register(event["id"], 1)
    register(event["id"], 2)
    with nothing_written():
        response = client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 1},
                                headers=organiser_headers)
    body = assert_problem(response, 422)
    assert "capacity" in body["detail"]
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["capacity"] == 3


def test_someone_who_cancels_and_registers_again_joins_the_back_of_the_line(
        registration_app, make_event, register, registration_status):
    """Leaving the waiting list and coming back does not skip the people who stayed."""
    client, db, settings = registration_app
    event = make_event(capacity=1)
    holder = register(event["id"], 1).get_json()["id"]
    leaver = register(event["id"], 2).get_json()["id"]
    client.post(cancel_path(settings, leaver))           # leaves the waiting list
    stayer = register(event["id"], 3).get_json()["id"]   # now first in line
    assert register(event["id"], 2).get_json()["status"] == "waitlisted"  # comes back
    client.post(cancel_path(settings, holder))           # a seat frees
    assert registration_status(db, stayer) == "confirmed"
    assert registration_status(db, leaver) == "waitlisted"


# --- cancelling through the signed link -----------------------------------------------------

@pytest.fixture
def full_event(registration_app, make_event, register):
    """A one-seat event: (event_id, confirmed_id, waitlisted_id)."""
    event = make_event(capacity=1)
    confirmed = register(event["id"], 1, name="Ana López").get_json()["id"]
    waiting = register(event["id"], 2).get_json()["id"]
    return event["id"], confirmed, waiting


def test_opening_the_cancel_link_only_shows_a_page(
        registration_app, full_event, outbox_facts, registration_status):
    """GET (what mail scanners do) shows the registration and a button, and cancels nothing."""
    client, db, settings = registration_app
    _, confirmed, _ = full_event
    before = outbox_facts(db)
    response = client.get(cancel_path(settings, confirmed))
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Ana López" in page and "<form method=\"post\">" in page and "confirmado" in page
    assert registration_status(db, confirmed) == "confirmed"
    assert outbox_facts(db) == before


def test_pressing_cancel_frees_the_seat_for_the_first_person_waiting(
        registration_app, full_event, outbox_facts, registration_status):
    """POST cancels, says so, and the person waiting gets the seat (two emails queued)."""
    client, db, settings = registration_app
    event_id, confirmed, waiting = full_event
    before = len(outbox_facts(db))
    response = client.post(cancel_path(settings, confirmed))
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "cancelado" in response.get_data(as_text=True)
    assert registration_status(db, confirmed) == "cancelled"
    assert registration_status(db, waiting) == "confirmed"
    new = outbox_facts(db)[before:]
    assert types(new) == ["registration.cancelled", "registration.promoted"]
    assert new[0]["data"]["registration"]["id"] == confirmed
    assert new[1]["data"]["registration"]["id"] == waiting
    assert client.get(f"/api/v1/events/{event_id}").get_json()["seats_left"] == 0


def test_pressing_cancel_twice_changes_nothing_more(
        registration_app, full_event, outbox_facts, registration_status, row_counts):
    """A second click shows the same page and queues no further email."""
    client, db, settings = registration_app
    event_id, confirmed, waiting = full_event
    client.post(cancel_path(settings, confirmed))
    facts, counts = outbox_facts(db), row_counts(db)
    response = client.post(cancel_path(settings, confirmed))
    assert response.status_code == 200 and "cancelado" in response.get_data(as_text=True)
    assert outbox_facts(db) == facts and row_counts(db) == counts
    assert registration_status(db, waiting) == "confirmed"
    assert client.get(f"/api/v1/events/{event_id}").get_json()["seats_left"] == 0
    page = client.get(cancel_path(settings, confirmed)).get_data(as_text=True)
    assert "ya está cancelado" in page


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_cancel_link_shows_an_error_and_changes_nothing(
        registration_app, full_event, outbox_facts, registration_status, method):
    """A link with one character changed gets the 'invalid link' page (400)."""
    client, db, settings = registration_app
    _, confirmed, _ = full_event
    path = cancel_path(settings, confirmed)
    head, _, token = path.rpartition("/")
    payload, stamp, signature = token.split(".")
    signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    before = outbox_facts(db)
    response = getattr(client, method)(f"{head}/{payload}.{stamp}.{signature}")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Enlace no válido" in response.get_data(as_text=True)
    assert registration_status(db, confirmed) == "confirmed"
    assert outbox_facts(db) == before


# --- bad input: problem+json and nothing written --------------------------------------------

def test_malformed_json_is_a_400(registration_app, organiser_headers, nothing_written):
    """A body that is not JSON is answered 400 problem+json."""
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", data='{"title": "x",',
                               headers={**organiser_headers, "Content-Type": "application/json"})
    assert_problem(response, 400)


def test_malformed_json_on_the_public_registration_is_a_400(
        registration_app, make_event, nothing_written):
    """The public form endpoint answers broken JSON the same way."""
    client = registration_app[0]
    event = make_event()
    with nothing_written():
        response = client.post(f"/api/v1/events/{event['id']}/registrations", data="{nope",
                               headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


def test_an_unknown_field_is_a_422_naming_it(
        registration_app, organiser_headers, future_event, nothing_written):
    """A misspelt field is not silently ignored."""
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event(capacidad=10),
                               headers=organiser_headers)
    assert_problem(response, 422, "capacidad")


@pytest.mark.parametrize("field, value", [
    ("capacity", "ten"),
    ("capacity", 0),
    ("latitude", "north"),
    ("latitude", 91),
    ("longitude", -181),
    ("partners", "OGP"),
    ("title", ""),
    ("title", "x" * 201),
    ("language", "fr"),
    ("starts_at", "31/05/2024"),
    ("starts_at", "2030-01-01T10:00:00"),
    ("ends_at", "2031-05-31T09:00:00-06:00"),
    ("ends_at", "2031-05-31T10:00:00-06:00"),
    ("timezone", "America/Chihuahua_City"),
    ("country", "Mexico"),
    ("country", "mx"),
    ("host_organization", ...),
    ("title", ...),
], ids=lambda v: repr(v)[:20])
def test_invalid_event_fields_are_a_422_naming_the_field(
        registration_app, organiser_headers, future_event, nothing_written, field, value):
    """Each wrong value is answered 422 with `errors` pointing at the field; nothing is saved."""
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event(**{field: value}),
                               headers=organiser_headers)
    assert_problem(response, 422, field)


def test_registration_closing_after_the_end_is_a_422(
        registration_app, organiser_headers, future_event, nothing_written):
    """Registration cannot close after the event has ended."""
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", headers=organiser_headers, json=future_event(
            registration_closes_at="2031-05-31T13:00:00-06:00"))
    assert "registration_closes_at" in str(assert_problem(response, 422)["errors"])


def test_a_patch_with_an_end_before_the_start_is_a_422(
        registration_app, organiser_headers, make_event, nothing_written):
    """Moving only the end before the start is caught too."""
    client = registration_app[0]
    event = make_event()
    with nothing_written():
        response = client.patch(f"/api/v1/events/{event['id']}", headers=organiser_headers,
                                json={"ends_at": "2031-05-30T10:00:00-06:00"})
    assert_problem(response, 422)
    got = client.get(f"/api/v1/events/{event['id']}").get_json()
    assert instant(got["ends_at"]) == instant(event["ends_at"])


def test_a_one_megabyte_body_is_a_413(registration_app, organiser_headers, future_event,
                                      nothing_written):
    """An oversized body is refused before it is read."""
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", headers=organiser_headers,
                               json=future_event(description="x" * (1024 * 1024)))
    assert_problem(response, 413)


def test_a_one_megabyte_registration_is_a_413(registration_app, make_event, person,
                                              nothing_written):
    """The public endpoint has the same limit."""
    client = registration_app[0]
    event = make_event()
    with nothing_written():
        response = client.post(f"/api/v1/events/{event['id']}/registrations",
                               json=person(1, organization="x" * (1024 * 1024)))
    assert_problem(response, 413)


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/events/999999"),
    ("post", "/api/v1/events/999999/registrations"),
    ("patch", "/api/v1/events/999999"),
    ("get", "/api/v1/events/999999/registrations"),
])
def test_an_unknown_event_is_a_404(registration_app, organiser_headers, person, nothing_written,
                                   method, path):
    """Reading, registering for or changing an event that does not exist says 404."""
    client = registration_app[0]
    body = person(1) if "registrations" in path else {"title": "Nuevo"}
    with nothing_written():
        response = getattr(client, method)(path, json=None if method == "get" else body,
                                           headers=organiser_headers)
    assert_problem(response, 404)


def test_an_event_id_that_is_not_a_number_is_a_404(registration_app):
    """/events/abc is not an address at all."""
    assert_problem(registration_app[0].get("/api/v1/events/abc"), 404)


def test_no_token_is_a_401_with_a_challenge(registration_app, future_event, nothing_written):
    """Publishing without a token says 401 and which scope is needed."""
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event())
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer scope="events:write"'


@pytest.mark.parametrize("authorization", ["Bearer abt_not-a-real-token", "Basic dXNlcjpwdw==",
                                           "Bearer ", "abt_only-the-token"])
def test_a_wrong_token_is_a_401(registration_app, future_event, nothing_written, authorization):
    """An unknown token, or another scheme, is not accepted."""
    client = registration_app[0]
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event(),
                               headers={"Authorization": authorization})
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers


def test_a_token_without_the_scope_is_a_403(registration_app, future_event, new_token, bearer,
                                            nothing_written):
    """A token that may only read registrations cannot publish events."""
    client, db, _ = registration_app
    headers = bearer(new_token(db, {"registrations:read"}))
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event(), headers=headers)
    assert "events:write" in assert_problem(response, 403)["detail"]


def test_a_revoked_token_is_a_401(registration_app, future_event, new_token, bearer,
                                  nothing_written):
    """Once revoked, a token that used to work is refused."""
    client, db, _ = registration_app
    token = new_token(db, {"events:write"})
    assert client.post("/api/v1/events", json=future_event(), headers=bearer(token)).status_code == 201
    with db.transaction() as session:
        session.execute(text("UPDATE api_tokens SET revoked_at = created_at"))
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event(), headers=bearer(token))
    assert_problem(response, 401)


def test_a_token_for_another_service_is_a_401(registration_app, empty_database, future_event,
                                              new_token, bearer, nothing_written):
    """A notifications token means nothing to the registration service."""
    from services.notifications.models import ApiToken as NotificationsToken

    other = empty_database("notifications")
    token = new_token(other, {"deliveries:read"}, model=NotificationsToken)
    with nothing_written():
        response = registration_app[0].post("/api/v1/events", json=future_event(),
                                            headers=bearer(token))
    assert_problem(response, 401)


def test_registering_for_a_past_event_is_a_409(registration_app, person, nothing_written):
    """The seeded 2024 panel is over: registration is closed."""
    client, db, _ = registration_app
    event_id = seed(db)
    with nothing_written():
        response = client.post(f"/api/v1/events/{event_id}/registrations", json=person(1))
    assert "closed" in assert_problem(response, 409)["detail"]


def test_registering_after_registration_closes_is_a_409(registration_app, make_event, register,
                                                        nothing_written):
    """An event that is still to come but whose registration closed refuses registrations."""
    event = make_event(registration_closes_at="2025-01-01T00:00:00Z")
    assert event["registration_open"] is False
    with nothing_written():
        assert_problem(register(event["id"], 1), 409)



@pytest.mark.parametrize("when", ["2031-05-31T17:00:00+00:00", "2031-06-01T00:00:00+00:00"],
                         ids=["closed", "past"])
def test_after_the_close_a_registered_person_and_a_newcomer_get_the_same_409(
        registration_app, make_event, person, outbox_facts, new_token, bearer, when):
    """A closed or past event answers alike whoever asks, so it cannot tell who attended;
    with a token too, and nothing is written or sent."""
    _, db, settings = registration_app
    event = make_event()
    path = f"/api/v1/events/{event['id']}/registrations"
    assert registration_app[0].post(path, json=person(1)).status_code == 202
    later = datetime.fromisoformat(when)
    client = create_app(settings, db=db, clock=lambda: later).test_client()
    registered, newcomer = client.post(path, json=person(1)), client.post(path, json=person(2))
    assert_problem(registered, 409)
    assert (registered.status_code, registered.get_data()) == (
        newcomer.status_code, newcomer.get_data())
    assert registered.headers["Content-Type"] == newcomer.headers["Content-Type"]
    kiosk = bearer(new_token(db, {"registrations:write"}, name="kiosk", now=later))
    assert_problem(client.post(path, json=person(1), headers=kiosk), 409)
    assert types(outbox_facts(db)) == ["registration.confirmed"]

@pytest.mark.parametrize("overrides, field", [
    (dict(privacy_consent=...), "privacy_consent"),
    (dict(privacy_consent=False), "privacy_consent"),
    (dict(privacy_consent="no"), "privacy_consent"),
    (dict(privacy_consent="maybe"), "privacy_consent"),
    (dict(email="not-an-email"), "email"),
    (dict(email="ana@"), "email"),
    (dict(email=...), "email"),
    (dict(sector="aliens"), "sector"),
    (dict(sector=...), "sector"),
    (dict(name=""), "name"),
    (dict(language="fr"), "language"),
    (dict(status="confirmed"), "status"),
    (dict(id=5), "id"),
    (dict(shoe_size=42), "shoe_size"),
], ids=lambda v: repr(v)[:30])
def test_invalid_registrations_are_a_422_naming_the_field(
        registration_app, make_event, register, nothing_written, overrides, field):
    """Without consent, or with a bad email, sector or field, nobody is registered."""
    event = make_event()
    with nothing_written():
        response = register(event["id"], 1, **overrides)
    assert_problem(response, 422, field)


def test_a_json_array_instead_of_an_object_is_a_422(registration_app, make_event,
                                                    nothing_written):
    """A body of the wrong shape is a validation problem."""
    client = registration_app[0]
    event = make_event()
    with nothing_written():
        response = client.post(f"/api/v1/events/{event['id']}/registrations", json=[1, 2])
    assert_problem(response, 422)


@pytest.mark.parametrize("query, field", [
    ("per_page=1000", "per_page"),
    ("per_page=0", "per_page"),
    ("page=0", "page"),
    ("page=two", "page"),
    ("when=tomorrow", "when"),
    ("country=MEX", "country"),
])
def test_bad_list_parameters_are_a_422(registration_app, query, field):
    """Out-of-range query parameters are refused, not clamped."""
    assert_problem(registration_app[0].get(f"/api/v1/events?{query}"), 422, field)


def test_an_unknown_list_parameter_is_a_422(registration_app):
    """A misspelt filter (?colour=red, ?ciudad=...) is refused, not silently ignored."""
    assert_problem(registration_app[0].get("/api/v1/events?colour=red"), 422, "colour")


@pytest.mark.parametrize("method, path", [
    ("delete", "/api/v1/events"),
    ("put", "/api/v1/events/1"),
    ("delete", "/api/v1/events/1/registrations"),
])
def test_a_wrong_method_is_a_405(registration_app, method, path):
    """A method the resource does not have is answered with a 405 problem."""
    assert_problem(getattr(registration_app[0], method)(path), 405)


def test_a_405_says_which_methods_are_allowed(registration_app):
    """A 405 lists the allowed methods in `Allow`."""
    response = registration_app[0].delete("/api/v1/events")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


@pytest.mark.parametrize("path", ["/nope", "/api/v2/events", "/api/v1/event"])
def test_an_unknown_url_is_a_404(registration_app, path):
    """Unknown addresses are answered with a 404 problem, not an HTML page."""
    assert_problem(registration_app[0].get(path), 404)


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/v1/events/99999999999999999999", None),
    ("get", "/api/v1/events?page=99999999999999999999", None),
    ("post", "/api/v1/events", {"capacity": 10 ** 20}),
], ids=["event-id", "page", "capacity"])
def test_huge_numbers_are_a_4xx_not_a_500(registration_app, organiser_headers, future_event,
                                          nothing_written, method, path, body):
    """A number too large to be stored is refused as bad input."""
    client = registration_app[0]
    with nothing_written():
        response = getattr(client, method)(
            path, json=None if body is None else future_event(**body), headers=organiser_headers)
    assert 400 <= response.status_code < 500


def test_a_nul_character_in_a_text_field_is_refused(registration_app, organiser_headers, future_event):
    """A title with a NUL byte is refused as bad input on every backend, never a crash."""
    response = registration_app[0].post("/api/v1/events", headers=organiser_headers,
                                        json=future_event(title="Panel\u0000abierto"))
    assert response.status_code == 422
    assert "title" in response.json["errors"]


@pytest.mark.parametrize("body", [
    "[" * 5000 + "]" * 5000,  # deeper than the JSON parser goes
    '{"name": ' + "9" * 5000 + "}",  # more digits than Python turns into an int
], ids=["nested-5000-deep", "5000-digit-number"])
def test_json_the_parser_cannot_take_is_a_400(registration_app, make_event, nothing_written, body):
    """Small bodies built to exhaust the parser are bad JSON to the public endpoint, not a crash."""
    event_id = make_event()["id"]
    with nothing_written():
        response = registration_app[0].post(f"/api/v1/events/{event_id}/registrations",
                                            data=body, content_type="application/json")
    assert_problem(response, 400)


def test_an_unpaired_surrogate_is_refused_before_anything_is_written(
        registration_app, organiser_headers, future_event, make_event, person, nothing_written):
    """"\\udfff" is valid JSON but no UTF-8 text: a 422 naming the field, on every backend,
    in a plain field and in a list alike."""
    client = registration_app[0]
    event_id = make_event()["id"]
    with nothing_written():
        registered = client.post(f"/api/v1/events/{event_id}/registrations",
                                 json=person(1, name="Ana\udfffLópez"))
        published = client.post("/api/v1/events", headers=organiser_headers,
                                json=future_event(partners=["Colectivo \ud800"]))
    assert_problem(registered, 422, "name")
    assert_problem(published, 422, "partners")


@pytest.mark.parametrize("starts_at", [
    "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
    "0001-01-01T00:00:00Z",  # in range in UTC, but not in America/Chihuahua
    "9999-12-31T20:00:00Z",
    "1899-12-31T23:59:59Z",
    "3000-01-01T00:00:00Z",
])
def test_a_date_outside_1900_to_2999_is_a_422(registration_app, organiser_headers, future_event,
                                              nothing_written, starts_at):
    """Dates no page or zone could show are refused when published, not stored to break pages."""
    with nothing_written():
        response = registration_app[0].post("/api/v1/events", headers=organiser_headers,
                                            json=future_event(starts_at=starts_at))
    assert_problem(response, 422, "starts_at")


def test_a_nul_character_in_the_address_is_a_400(registration_app):
    """?q=%00 is refused on every backend (PostgreSQL cannot search for it)."""
    body = assert_problem(registration_app[0].get("/api/v1/events?q=%00"), 400)
    assert "NUL" in body["detail"]


def test_an_email_too_long_once_lower_cased_is_a_422(registration_app, make_event, person,
                                                     nothing_written):
    """212 characters, but "İ" lower-cases to two: its key would not fit the column."""
    event_id = make_event()["id"]
    with nothing_written():
        response = registration_app[0].post(f"/api/v1/events/{event_id}/registrations",
                                            json=person(1, email="İ" * 200 + "@example.org"))
    assert_problem(response, 422, "email")


def test_a_country_with_a_trailing_newline_is_a_422(registration_app, organiser_headers,
                                                    future_event, nothing_written):
    """"MX\\n" is not a country code (a regular expression's "$" would have let it in)."""
    with nothing_written():
        response = registration_app[0].post("/api/v1/events", headers=organiser_headers,
                                            json=future_event(country="MX\n"))
    assert_problem(response, 422, "country")


def test_a_fractional_capacity_is_refused(registration_app, organiser_headers, future_event):
    """A capacity of 2.5 seats is refused rather than silently made 2."""
    response = registration_app[0].post("/api/v1/events", headers=organiser_headers,
                                        json=future_event(capacity=2.5))
    assert_problem(response, 422, "capacity")


def test_searching_for_an_underscore_is_literal(registration_app, make_event):
    """q=_ finds only events with an underscore in them."""
    make_event(title="Panel")
    page = registration_app[0].get("/api/v1/events?q=_").get_json()
    assert page["total"] == 0


def test_registration_open_follows_the_service_clock(registration_app, make_event, person):
    """With the service clock past the close, the event reads closed, as registering does."""
    _, db, settings = registration_app
    event = make_event()
    later = datetime(2031, 6, 1, tzinfo=timezone.utc)
    client = create_app(settings, db=db, clock=lambda: later).test_client()
    assert client.post(f"/api/v1/events/{event['id']}/registrations",
                       json=person(1)).status_code == 409
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["registration_open"] is False


# --- the attendee list ----------------------------------------------------------------------

def test_the_attendee_list_shows_names_and_emails(registration_app, organiser_headers,
                                                  make_event, register):
    """An organiser with registrations:read gets a page of attendees with their details."""
    client = registration_app[0]
    event = make_event(capacity=1)
    register(event["id"], 1)
    register(event["id"], 2)
    response = client.get(f"/api/v1/events/{event['id']}/registrations?per_page=1&page=2",
                          headers=organiser_headers)
    assert response.status_code == 200
    page = response.get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 1, 2)
    (item,) = page["items"]
    assert item["name"] == "Persona 2" and item["email"] == "persona2@example.org"
    assert item["status"] == "waitlisted" and item["event_id"] == event["id"]
    assert "privacy_consent" not in item


def test_the_attendee_list_as_csv(registration_app, organiser_headers, make_event, register):
    """`Accept: text/csv` downloads a spreadsheet: a header and one row per registration."""
    client = registration_app[0]
    event = make_event(capacity=1)
    for n in (1, 2, 3):
        register(event["id"], n)
    response = client.get(f"/api/v1/events/{event['id']}/registrations",
                          headers={**organiser_headers, "Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"event-{event['id']}-registrations.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "name", "email", "organization", "sector", "language",
                       "accessibility_needs", "status",
                       "created_at", "checked_in_at", "walk_in"]
    assert [r[2] for r in rows[1:]] == [f"persona{n}@example.org" for n in (1, 2, 3)]
    assert [r[7] for r in rows[1:]] == ["confirmed", "waitlisted", "waitlisted"]
    assert [r[9:] for r in rows[1:]] == [["", "no"]] * 3  # nobody at the door yet


# (a formula without "://": a name carrying a link is refused before it reaches the list)
@pytest.mark.parametrize("name", ["=HYPERLINK(\"evil.example/x\",\"x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_a_formula_in_a_name_is_neutralised_in_the_csv(registration_app, organiser_headers,
                                                       make_event, register, name):
    """A name that a spreadsheet would run as a formula is exported as text."""
    client = registration_app[0]
    event = make_event()
    register(event["id"], 1, name=name, organization="=cmd|' /C calc'!A0")
    response = client.get(f"/api/v1/events/{event['id']}/registrations",
                          headers={**organiser_headers, "Accept": "text/csv"})
    (row,) = list(csv.reader(io.StringIO(response.get_data(as_text=True))))[1:]
    assert row[1] == "'" + name
    assert row[3] == "'=cmd|' /C calc'!A0"


def test_the_attendee_list_needs_a_token(registration_app, make_event, new_token, bearer):
    """Without a token 401; with only events:write 403."""
    client, db, _ = registration_app
    event = make_event()
    path = f"/api/v1/events/{event['id']}/registrations"
    assert_problem(client.get(path), 401)
    assert_problem(client.get(path, headers=bearer(new_token(db, {"events:write"}))), 403)
    csv_ = client.get(path, headers={"Accept": "text/csv"})
    assert_problem(csv_, 401)


# --- the contract document ------------------------------------------------------------------

def test_the_openapi_document_lists_the_paths(registration_app):
    """Integrators can read the contract at /api/v1/openapi.json."""
    response = registration_app[0].get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/events", "/api/v1/events/{event_id}",
            "/api/v1/events/{event_id}/registrations"} <= set(spec["paths"])
    assert "bearer" in spec["components"]["securitySchemes"]
    assert set(spec["paths"]["/api/v1/events"]) >= {"get", "post"}


def test_the_default_close_follows_the_event_when_it_moves(registration_app, make_event, organiser_headers):
    """Without its own closing time, registration closes at the (new) start after a reschedule."""
    client = registration_app[0]
    event = make_event()
    assert event["registration_closes_at"] == event["starts_at"]
    moved = client.patch(f"/api/v1/events/{event['id']}", headers=organiser_headers, json={
        "starts_at": "2031-06-07T10:00:00-06:00", "ends_at": "2031-06-07T12:00:00-06:00"}).get_json()
    assert moved["registration_closes_at"] == moved["starts_at"] == "2031-06-07T16:00:00+00:00"


@pytest.mark.parametrize("name", ["Gana un premio en https://x.y", "Ana www.premio.example",
                                  "Ana WWW.PREMIO.EXAMPLE", "ftp://x"])
def test_a_name_carrying_a_link_is_refused_and_nothing_written(registration_app, make_event,
                                                              person, nothing_written, name):
    """The confirmation email greets the person by name: a link there would be the
    municipality's own email carrying someone's spam."""
    client = registration_app[0]
    event = make_event()
    with nothing_written():
        response = client.post(f"/api/v1/events/{event['id']}/registrations",
                               json=person(1, name=name))
    body = assert_problem(response, 422)
    assert body["errors"] == {"name": ["Must not contain a link (://, www.)."]}


def test_names_with_dots_and_colons_are_still_names(make_event, register):
    event = make_event()
    for n, name in enumerate(["Ana M. López", "Dr. J.R.R. Tolkien: autor", "Mwww Jones"], 1):
        assert register(event["id"], n, name=name).status_code == 201
