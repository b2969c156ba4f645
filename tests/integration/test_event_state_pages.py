"""What the pages say of an event as it stands (moved, postponed, cancelled, online, in
English) and the attendee's own page, which the link in every email opens."""
import json
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

import icalendar
import pytest
import zxingcpp
from sqlalchemy import update

from services.registration import checkin_codes
from services.registration.facts import Links
from services.registration.models import Event, Registration
from shared import calendar as calendar_uids

REASON = {"es": "Por la contingencia por lluvias.", "en": "Because of the heavy rain."}
LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def html(response):
    assert response.mimetype == "text/html", response.status_code
    return response.get_data(as_text=True)


def json_ld(page):
    (data,) = LD.findall(page)
    return json.loads(data)


@pytest.fixture
def set_row():
    """set_row(db, Event or Registration, id, **columns): a state the API of this branch
    cannot make yet (cancel/postpone, check-in), written as those use cases will."""

    def write(db, model, row_id, **columns):
        with db.transaction() as session:
            session.execute(update(model).where(model.id == row_id).values(**columns))

    return write


@pytest.fixture
def own_page(registration_app):
    """own_page(registration_id, lang="es") -> (path, page) of the emailed link's page."""
    client, _, settings = registration_app

    def get(registration_id, lang="es"):
        path = urlsplit(Links("", settings.keys).cancel(registration_id)).path
        response = client.get(f"{path}?lang={lang}")
        assert response.status_code == 200
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        return path, html(response)

    return get


# --- the event's state on its page, the list and the JSON-LD -----------------------------------

@pytest.mark.parametrize("status, schema_org", [
    ("scheduled", "https://schema.org/EventScheduled"),
    ("rescheduled", "https://schema.org/EventRescheduled"),
    ("postponed", "https://schema.org/EventPostponed"),
    ("cancelled", "https://schema.org/EventCancelled"),
])
def test_json_ld_says_the_events_status(registration_app, make_event, set_row, status,
                                        schema_org):
    client, db, _ = registration_app
    event = make_event()
    set_row(db, Event, event["id"], status=status)
    assert json_ld(html(client.get(f"/events/{event['id']}")))["eventStatus"] == schema_org


@pytest.mark.parametrize("status, es, en", [
    ("cancelled", ["Evento cancelado", "El registro está cerrado: el evento se canceló."],
     ["Event cancelled", "Registration is closed: the event was cancelled."]),
    ("postponed", ["Evento pospuesto", "Nueva fecha por anunciar"],
     ["Event postponed", "New date to be announced"]),
])
def test_an_event_that_is_off_shows_a_banner_with_the_reason_and_no_form(
        registration_app, make_event, set_row, status, es, en):
    client, db, _ = registration_app
    event = make_event()
    set_row(db, Event, event["id"], status=status, status_reason=REASON)
    spanish = html(client.get(f"/events/{event['id']}?lang=es"))
    assert all(words in spanish for words in es) and f"Motivo: <span>{REASON['es']}" in spanish
    assert "<form" not in spanish and "Registro cerrado" in spanish
    assert ("/calendar.ics" in spanish) == (status == "postponed")  # nothing to add once off
    english = html(client.get(f"/events/{event['id']}?lang=en"))
    assert all(words in english for words in en) and f"Reason: <span>{REASON['en']}" in english
    assert "<form" not in english and REASON["es"] not in english


def test_a_reason_given_only_in_spanish_is_shown_as_spanish_on_the_english_page(
        registration_app, make_event, set_row):
    client, db, _ = registration_app
    event = make_event()
    set_row(db, Event, event["id"], status="cancelled", status_reason={"es": REASON["es"]})
    assert f'Reason: <span lang="es">{REASON["es"]}' in html(
        client.get(f"/events/{event['id']}?lang=en"))


def test_a_moved_event_says_new_date_on_its_page_and_in_the_list(
        registration_app, make_event, set_row):
    client, db, _ = registration_app
    event = make_event()
    set_row(db, Event, event["id"], status="rescheduled")
    assert "<strong>Nueva fecha:</strong> sábado, 31 de mayo de 2031" in html(
        client.get(f"/events/{event['id']}"))
    listed = html(client.get("/?lang=en"))
    assert '<span class="badge warn">New date</span>' in listed
    assert "2 seats left" in listed  # still open for registration
    assert "<form" in html(client.get(f"/events/{event['id']}"))


def test_the_list_marks_cancelled_and_postponed_events(registration_app, make_event, set_row):
    client, db, _ = registration_app
    off, later = make_event(title="Foro cancelado"), make_event(title="Foro pospuesto")
    set_row(db, Event, off["id"], status="cancelled")
    set_row(db, Event, later["id"], status="postponed")
    cards = html(client.get("/")).split('<li class="card">')[1:]
    (cancelled,) = [card for card in cards if "Foro cancelado" in card]
    (postponed,) = [card for card in cards if "Foro pospuesto" in card]
    assert '<span class="badge bad">Cancelado</span>' in cancelled
    assert "lugares disponibles" not in cancelled
    assert '<span class="badge warn">Pospuesto: nueva fecha por anunciar</span>' in postponed


@pytest.mark.parametrize("venue, mode, locations", [
    ("Salón del Séptimo piso", "MixedEventAttendanceMode", ["Place", "VirtualLocation"]),
    ("", "OnlineEventAttendanceMode", ["VirtualLocation"]),
], ids=["mixed", "online"])
def test_an_online_link_shows_and_becomes_a_virtual_location(
        registration_app, make_event, set_row, venue, mode, locations):
    client, db, _ = registration_app
    extra = {} if venue else {"address": "", "city": ""}
    event = make_event(venue=venue, **extra)
    set_row(db, Event, event["id"], online_url="https://meet.example.org/panel")
    page = html(client.get(f"/events/{event['id']}"))
    assert '<dt>En línea</dt><dd><a href="https://meet.example.org/panel">' in page
    data = json_ld(page)
    assert data["eventAttendanceMode"] == f"https://schema.org/{mode}"
    where = data["location"] if isinstance(data["location"], list) else [data["location"]]
    assert [place["@type"] for place in where] == locations
    assert where[-1]["url"] == "https://meet.example.org/panel"


def test_an_in_person_event_is_offline(registration_app, make_event):
    data = json_ld(html(registration_app[0].get(f"/events/{make_event()['id']}")))
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert data["location"]["@type"] == "Place"


# --- the reader's language -----------------------------------------------------------------------

def test_pages_ics_and_json_ld_speak_the_readers_language(registration_app, make_event):
    client = registration_app[0]
    event = make_event(title={"es": "Panel abierto", "en": "Open panel"},
                       description={"es": "Con ciudadanía.", "en": "With citizens."})
    english = html(client.get(f"/events/{event['id']}?lang=en"))
    assert "<h1>Open panel</h1>" in english and "<p>With citizens.</p>" in english
    assert json_ld(english)["name"] == "Open panel"
    assert json_ld(english)["inLanguage"] == "es"  # what is spoken there
    assert "<h3><a" in html(client.get("/")) and ">Open panel</a></h3>" in html(client.get("/"))
    (entry,) = icalendar.Calendar.from_ical(
        client.get(f"/events/{event['id']}/calendar.ics").data).walk("VEVENT")
    assert str(entry["SUMMARY"]) == "Open panel" and str(entry["DESCRIPTION"]) == "With citizens."
    spanish = html(client.get(f"/events/{event['id']}?lang=es"))
    assert "<h1>Panel abierto</h1>" in spanish and json_ld(spanish)["name"] == "Panel abierto"


def test_without_english_the_spanish_stands_in_marked_as_spanish(registration_app, make_event):
    client = registration_app[0]
    event = make_event(title="Panel abierto", description="Con ciudadanía.")
    english = html(client.get(f"/events/{event['id']}?lang=en"))
    assert '<h1 lang="es">Panel abierto</h1>' in english
    assert '<p lang="es">Con ciudadanía.</p>' in english
    assert '<h3 lang="es"><a' in html(client.get("/"))


# --- the attendee's own page -------------------------------------------------------------------

def qr_text(page):
    """Decode the page's inline SVG QR code: draw segno's path (rows of `h` strokes) into a
    grey image, module by module, and give it to a real decoder."""
    svg = re.search(r'<svg role="img"[^>]*class="qr".*?</svg>', page, re.S).group(0)
    size = int(re.search(r'd="M0 0h(\d+)v', svg).group(1))  # the white square: modules + border
    path = re.search(r'class="qrline"[^>]*d="([^"]+)"', svg).group(1)
    dark, x, y = set(), 0.0, 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(a)))
            x += float(a)
    scale = 4
    pixels = bytes(0 if (col // scale, row // scale) in dark else 255
                   for row in range(size * scale) for col in range(size * scale))
    image = memoryview(pixels).cast("B", (size * scale, size * scale))
    (found,) = zxingcpp.read_barcodes(image)
    return found.text


def test_a_confirmed_attendee_sees_their_qr_code_short_code_and_calendar(
        registration_app, make_event, register, own_page, set_row):
    client, db, settings = registration_app
    event = make_event(title={"es": "Panel abierto", "en": "Open panel"})
    registration_id = register(event["id"]).get_json()["id"]
    set_row(db, Registration, registration_id, invite_sequence=3)
    path, page = own_page(registration_id)
    assert "<h1>Tu registro</h1>" in page and "<strong>Persona 1</strong>" in page
    assert "estado: confirmado." in page
    assert qr_text(page) == checkin_codes.token(settings.keys, event["id"], registration_id)
    code = checkin_codes.code(settings.keys, event["id"], registration_id)
    assert f'<span class="checkin-code">{code}</span>' in page
    assert f"<title>Código QR de registro. Código corto: {code}</title>" in page
    assert '<form method="post">' in page and "Cancelar mi registro" in page
    assert f'href="{path}/calendar.ics"' in page
    response = client.get(f"{path}/calendar.ics?lang=en")
    assert response.mimetype == "text/calendar"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    calendar = icalendar.Calendar.from_ical(response.data)
    (entry,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "PUBLISH" and str(entry["STATUS"]) == "CONFIRMED"
    # The entry the emailed invites made: the same UID, under the deployment's domain.
    domain = calendar_uids.uid_domain(settings.public_base_url, settings.mail_from)
    assert str(entry["UID"]) == calendar_uids.registration_uid(registration_id, domain)
    assert entry["SEQUENCE"] == 3 and str(entry["SUMMARY"]) == "Open panel"
    english = own_page(registration_id, "en")[1]
    assert "<h1>Your registration</h1>" in english and "Check-in QR code. Short code:" in english


def test_someone_waiting_sees_their_place_in_line_and_no_code(
        registration_app, make_event, register, own_page):
    event = make_event(capacity=1)
    register(event["id"], 1)
    first, second = (register(event["id"], n).get_json()["id"] for n in (2, 3))
    assert "eres el número 1 de la fila" in own_page(first)[1]
    page = own_page(second, "en")[1]
    assert "on the waiting list (number 2 in line)" in page
    assert "<svg" not in page and "calendar.ics" not in page and "Cancel my registration" in page


def test_a_held_seat_shows_the_confirm_link(registration_app, make_event, register, own_page):
    event = make_event(confirm_by_email=True)
    registration_id = register(event["id"]).get_json()["id"]
    page = own_page(registration_id)[1]
    assert re.search(r'<a class="button" href="http://abierto.test/registrations/confirm/[^"]+">'
                     r"Confirmar mi lugar</a>", page)
    assert "<svg" not in page


def test_a_cancelled_registration_shows_no_code_and_no_button(
        registration_app, make_event, register, own_page):
    client = registration_app[0]
    registration_id = register(make_event()["id"]).get_json()["id"]
    path, _ = own_page(registration_id)
    assert client.post(path).status_code == 200
    page = own_page(registration_id)[1]
    assert "Este registro ya está cancelado." in page
    assert "<svg" not in page and "<form" not in page and "calendar.ics" not in page
    calendar = icalendar.Calendar.from_ical(client.get(f"{path}/calendar.ics").data)
    assert str(calendar.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_a_checked_in_attendee_is_told_so(registration_app, make_event, register, own_page,
                                          set_row):
    db = registration_app[1]
    registration_id = register(make_event()["id"]).get_json()["id"]
    assert "ya entraste al evento" not in own_page(registration_id)[1]
    set_row(db, Registration, registration_id,
            checked_in_at=datetime(2031, 5, 31, 16, 2, tzinfo=timezone.utc))
    assert "ya entraste al evento" in own_page(registration_id)[1]


def test_a_cancelled_event_shows_the_reason_on_the_attendee_page(
        registration_app, make_event, register, own_page, set_row):
    db = registration_app[1]
    event = make_event()
    registration_id = register(event["id"]).get_json()["id"]
    set_row(db, Event, event["id"], status="cancelled", status_reason=REASON)
    page = own_page(registration_id, "en")[1]
    assert "Event cancelled" in page and REASON["en"] in page
    assert "<svg" not in page and "<form" not in page


def test_a_moved_event_shows_its_new_date_on_the_attendee_page(
        registration_app, make_event, register, own_page, set_row):
    db = registration_app[1]
    event = make_event()
    registration_id = register(event["id"]).get_json()["id"]
    set_row(db, Event, event["id"], status="rescheduled",
            online_url="https://meet.example.org/panel")
    page = own_page(registration_id)[1]
    assert "<strong>Nueva fecha:</strong>" in page
    assert '<a href="https://meet.example.org/panel">' in page and "<svg" in page


def test_a_bad_link_to_the_calendar_is_refused(registration_app):
    response = registration_app[0].get("/registrations/cancel/not-a-token/calendar.ics")
    assert response.status_code == 400 and "Enlace no válido" in html(response)


# --- through the organiser's API, as it happens ------------------------------------------------

def test_cancelled_through_the_api_the_pages_say_so_and_the_form_registers_nobody(
        registration_app, make_event, register, organiser_headers, own_page, row_counts):
    client, db, _ = registration_app
    event = make_event()
    registration_id = register(event["id"]).get_json()["id"]
    assert client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": REASON},
                       headers=organiser_headers).status_code == 200
    page = html(client.get(f"/events/{event['id']}?lang=en"))
    assert "Event cancelled" in page and REASON["en"] in page and "<form" not in page
    assert json_ld(page)["eventStatus"] == "https://schema.org/EventCancelled"
    assert "Evento cancelado" in own_page(registration_id)[1]
    with client.session_transaction() as session:
        session["csrf"] = "a-token"
    before = row_counts(db)
    response = client.post(f"/events/{event['id']}", data={
        "csrf_token": "a-token", "name": "Ana", "email": "ana@example.org", "sector": "citizen",
        "privacy_consent": "yes"})
    assert response.status_code == 409 and "Evento cancelado" in html(response)
    assert row_counts(db) == before


def test_moved_through_the_api_the_page_says_new_date(registration_app, make_event,
                                                      organiser_headers):
    client = registration_app[0]
    event = make_event()
    assert client.patch(f"/api/v1/events/{event['id']}", json={
        "starts_at": "2031-06-07T10:00:00-06:00", "ends_at": "2031-06-07T12:00:00-06:00"},
        headers=organiser_headers).status_code == 200
    page = html(client.get(f"/events/{event['id']}"))
    assert "<strong>Nueva fecha:</strong> sábado, 7 de junio de 2031" in page
    assert json_ld(page)["eventStatus"] == "https://schema.org/EventRescheduled"
