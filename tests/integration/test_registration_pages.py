"""The public pages of registration: the list, an event and its form, the .ics, privacy, language."""
import json
import re

import icalendar
import pytest

from shared import calendar as calendar_uids

PAST = {"starts_at": "2024-05-31T10:00:00-06:00", "ends_at": "2024-05-31T12:00:00-06:00"}


def html(response):
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def csrf_token(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def form(token, **overrides):
    body = {"csrf_token": token, "name": "Ana López", "email": "ana@example.org",
            "organization": "Colectivo", "sector": "civil_society", "language": "es",
            "accessibility_needs": "Intérprete de LSM", "accessibility_consent": "yes",
            "privacy_consent": "yes"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture
def submit(registration_app):
    """submit(event_id, **fields) -> the response of the form's POST, with a fresh CSRF token."""
    client = registration_app[0]

    def post(event_id, **overrides):
        token = csrf_token(html(client.get(f"/events/{event_id}")))
        return client.post(f"/events/{event_id}", data=form(token, **overrides))

    return post


def test_the_list_shows_upcoming_before_past_with_seats(registration_app, make_event, register):
    client = registration_app[0]
    past = make_event(title="Panel pasado", **PAST)
    soon = make_event(title="Taller próximo", capacity=5)
    full = make_event(title="Foro lleno", capacity=1)
    register(full["id"], 1)
    page = html(client.get("/"))
    assert page.index("Próximos eventos") < page.index("Taller próximo") < page.index(
        "Eventos pasados") < page.index("Panel pasado")
    assert f'href="/events/{soon["id"]}"' in page and f'href="/events/{past["id"]}"' in page
    assert "5 lugares disponibles" in page and "Lista de espera" in page
    assert "Registro cerrado" in page
    assert "sábado, 31 de mayo de 2031" in page  # in the event's zone, in Spanish
    assert '<html lang="es">' in page and page.count("<h1") == 1
    assert 'href="/assets/abierto.css"' in page and "<script" not in page


def test_the_event_page_has_the_form_json_ld_map_and_calendar(registration_app, make_event):
    client = registration_app[0]
    event = make_event(related_commitments=[3])
    page = html(client.get(f"/events/{event['id']}"))
    assert '<form method="post"' in page and 'name="privacy_consent"' in page
    assert 'href="/privacy"' in page and f'href="/events/{event["id"]}/calendar.ics"' in page
    assert "https://www.openstreetmap.org/?mlat=28.635300&amp;mlon=-106.088900#map=17/" in page
    assert "/commitments/3" in page
    (ld,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    data = json.loads(ld)
    assert data["@type"] == "Event" and data["name"] == event["title"]["es"]
    assert data["startDate"] == "2031-05-31T10:00:00-06:00"
    assert data["location"]["@type"] == "Place"
    assert data["location"]["address"]["streetAddress"] == "Calle Victoria No.4, Centro"


def test_no_map_link_without_coordinates(registration_app, make_event):
    event = make_event(latitude=None, longitude=None)
    assert "openstreetmap" not in html(registration_app[0].get(f"/events/{event['id']}"))


def test_an_unknown_event_is_a_404_page(registration_app):
    response = registration_app[0].get("/events/999999")
    assert response.status_code == 404 and "No encontramos" in html(response)


def test_the_calendar_file_parses(registration_app, make_event):
    event = make_event()
    response = registration_app[0].get(f"/events/{event['id']}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    (entry,) = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    settings = registration_app[2]
    domain = calendar_uids.uid_domain(settings.public_base_url, settings.mail_from)
    assert str(entry["UID"]) == f"event-{event['id']}@{domain}" and domain != "abierto"
    assert entry.decoded("DTSTART").isoformat() == "2031-05-31T16:00:00+00:00"
    assert str(entry["SUMMARY"]) == event["title"]["es"] and "Calle Victoria" in str(entry["LOCATION"])


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_post_without_the_csrf_token_is_refused(registration_app, make_event, row_counts,
                                                  token):
    client, db, _ = registration_app
    event = make_event()
    client.get(f"/events/{event['id']}")  # the session holds a real token
    before = row_counts(db)
    response = client.post(f"/events/{event['id']}", data=form(token if token else ...))
    assert response.status_code == 400 and "<h1" in html(response)
    assert row_counts(db) == before


def test_registering_through_the_form(registration_app, make_event, submit, row_counts,
                                      outbox_facts, organiser_headers):
    client, db, _ = registration_app
    event = make_event()
    before = row_counts(db)
    response = submit(event["id"])
    page = html(response)
    assert response.status_code == 200 and "Te enviamos un correo con tu lugar" in page
    assert "We've sent you an email" not in page  # Spanish by default; English by the switch
    after = row_counts(db)
    assert after["registrations"] == before["registrations"] + 1
    assert [f["type"] for f in outbox_facts(db)] == ["registration.confirmed"]
    (item,) = client.get(f"/api/v1/events/{event['id']}/registrations",
                         headers=organiser_headers).get_json()["items"]
    assert item["sector"] == "civil_society" and item["accessibility_needs"] == "Intérprete de LSM"
    assert item["status"] == "confirmed"
    # The same email again: the very same page (never "already registered"); only the
    # person hears, by email, what they hold.
    again = submit(event["id"], name="Otra")
    assert again.status_code == 200 and html(again) == page
    assert "Ya estás registrado" not in html(again) and "Otra" not in html(again)
    facts = outbox_facts(db)
    assert [f["type"] for f in facts] == ["registration.confirmed", "registration.repeated"]
    assert facts[1]["data"]["registration"]["name"] == "Ana López"  # what is held, not what was typed
    assert row_counts(db)["registrations"] == after["registrations"]


def test_a_bad_email_shows_the_error_beside_the_field(registration_app, make_event, submit,
                                                      row_counts):
    client, db, _ = registration_app
    event = make_event()
    before = row_counts(db)
    response = submit(event["id"], email="no-es-correo", privacy_consent=...)
    page = html(response)
    assert response.status_code == 422 and row_counts(db) == before
    assert 'role="alert"' in page and 'value="Ana López"' in page
    assert re.search(r'id="email" name="email" aria-invalid="true" aria-describedby="email-error"',
                     page)
    assert 'id="email-error">Escribe un correo electrónico válido' in page
    assert 'id="privacy_consent-error"' in page and "checked" not in page


def test_errors_in_english(registration_app, make_event, submit):
    client = registration_app[0]
    event = make_event()
    client.get("/?lang=en")
    page = html(submit(event["id"], name=""))
    assert 'id="name-error">Enter your name' in page


def test_a_full_event_puts_the_form_on_the_waiting_list(registration_app, make_event, register,
                                                        submit, outbox_facts):
    event = make_event(capacity=1)
    register(event["id"], 1)
    page = html(submit(event["id"]))
    assert "Te enviamos un correo con tu lugar o tu posición en la lista de espera" in page
    assert "Estás en la lista de espera" not in page  # the email says it, to its owner only
    last = outbox_facts(registration_app[1])[-1]
    assert last["type"] == "registration.waitlisted"
    assert last["data"]["registration"]["email"] == "ana@example.org"


def test_a_past_event_shows_no_form(registration_app, make_event):
    client = registration_app[0]
    event = make_event(**PAST)
    page = html(client.get(f"/events/{event['id']}"))
    assert "<form" not in page and "El registro está cerrado" in page


def test_posting_to_a_closed_event_registers_nobody(registration_app, make_event, row_counts):
    client, db, _ = registration_app
    event = make_event(**PAST)
    token = "a-token-the-closed-page-never-showed"
    with client.session_transaction() as session:
        session["csrf"] = token
    before = row_counts(db)
    response = client.post(f"/events/{event['id']}", data=form(token))
    assert response.status_code == 409 and "El registro está cerrado" in html(response)
    assert row_counts(db) == before


def test_the_english_switch_sticks(registration_app, make_event):
    client = registration_app[0]
    event = make_event()
    response = client.get(f"/events/{event['id']}?lang=en")
    page = html(response)
    assert '<html lang="en">' in page and "Add to calendar" in page and "Citizen" in page
    assert "lang=en" in response.headers["Set-Cookie"]
    page = html(client.get("/"))
    assert '<html lang="en">' in page and "Upcoming events" in page
    assert 'href="/?lang=es"' in page


def test_the_browser_language_picks_english_on_a_first_visit(registration_app):
    page = html(registration_app[0].get("/", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert '<html lang="en">' in page and "Open Government events" in page


@pytest.mark.parametrize("lang, words", [
    ("es", ["Aviso de privacidad", "Coordinación de Transparencia, Gobierno Abierto y Archivos",
            "ARCO", "Unidad de Transparencia", "No transferimos"]),
    ("en", ["Privacy notice", "ARCO rights", "We do not transfer"]),
])
def test_the_privacy_notice_in_both_languages(registration_app, lang, words):
    response = registration_app[0].get(f"/privacy?lang={lang}")
    page = html(response)
    assert response.status_code == 200 and f'<html lang="{lang}">' in page
    assert all(word in page for word in words) and page.count("<h1") == 1


@pytest.mark.parametrize("language, says", [
    ("es", 'id="name-error">Escribe tu nombre sin enlaces'),
    ("en", 'id="name-error">Enter your name without links'),
])
def test_a_name_with_a_link_shows_why_beside_the_field(registration_app, make_event, submit,
                                                       row_counts, language, says):
    client, db, _ = registration_app
    event = make_event()
    client.get(f"/?lang={language}")
    before = row_counts(db)
    response = submit(event["id"], name="Premio en www.premio.example")
    assert response.status_code == 422 and row_counts(db) == before
    page = html(response)
    assert says in page
    assert re.search(r'id="name" name="name" aria-invalid="true" aria-describedby="name-error"', page)
