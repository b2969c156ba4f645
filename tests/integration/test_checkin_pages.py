"""The staff's check-in page without a browser: the staff link's cookie, every answer in words,
walk-ins, a token typed once, revocation, and nothing shown to anyone else."""
import re
from zoneinfo import ZoneInfo

import pytest

from services.registration import checkin_codes
from services.registration import service as use_cases
from services.registration.models import Registration
from shared import wording
from tests.integration.problems import tampered


def html(response):
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def csrf(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def answer(page):
    """The live region's text, without tags or runs of blanks."""
    region = re.search(r'<div id="answer"[^>]*>(.*?)</div>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", region).split())


@pytest.fixture
def staff_link(registration_app, organiser_headers):
    """staff_link(event_id) -> (the link's URL without the host, its id)."""
    client, _, settings = registration_app

    def make(event_id):
        link = client.post(f"/api/v1/events/{event_id}/staff-links", json={"label": "Puerta"},
                           headers=organiser_headers).get_json()
        return link["url"].removeprefix(settings.public_base_url), link["id"]

    return make


@pytest.fixture
def at_the_door(registration_app, make_event, register, staff_link):
    """(client with the staff link opened, event, {n: registration id} of 2 confirmed)."""
    client = registration_app[0]
    event = make_event(title="Panel de Gobierno Abierto")
    ids = {n: register(event["id"], n, name=f"Persona {n}").get_json()["id"] for n in (1, 2)}
    url, _ = staff_link(event["id"])
    assert client.get(url).status_code == 200
    return client, event, ids


def scan(client, event_id, code):
    page = html(client.get(f"/events/{event_id}/check-in"))
    return client.post(f"/events/{event_id}/check-in", data={"csrf_token": csrf(page), "code": code})


def test_without_a_credential_the_page_asks_for_one_and_shows_nothing(registration_app, make_event):
    event = make_event(title="Panel reservado")
    response = registration_app[0].get(f"/events/{event['id']}/check-in")
    assert response.status_code == 401
    page = html(response)
    assert "Panel reservado" not in page and "enlace para el personal" in page
    assert 'name="token"' in page and 'type="password"' in page
    assert response.headers["Cache-Control"] == "no-store"


def test_the_staff_link_is_kept_in_a_strict_cookie_and_leaves_the_address(
        registration_app, make_event, staff_link):
    """Opening the link sets an HttpOnly, SameSite=Strict cookie for this page's path only,
    and moves to the clean address with a refresh the page itself makes."""
    client = registration_app[0]
    event = make_event(title="Panel de Gobierno Abierto")
    url, _ = staff_link(event["id"])
    opened = client.get(url)
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith("abierto_door=") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and f"Path=/events/{event['id']}/check-in" in cookie
    assert "Secure" not in cookie  # the test's PUBLIC_BASE_URL is http
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert opened.headers["Cache-Control"] == "no-store"
    clean = f"/events/{event['id']}/check-in"
    assert f'http-equiv="refresh" content="0; url={clean}"' in html(opened)
    assert "Panel de Gobierno Abierto" not in html(opened)
    page = client.get(clean)
    assert page.status_code == 200 and "Panel de Gobierno Abierto" in html(page)
    assert "0 registrados en la entrada · 0 confirmados · 0 sin registro previo" in html(page)
    assert client.get(f"/events/{event['id'] + 1}/check-in").status_code == 401  # not sent there


def test_every_answer_in_words(registration_app, at_the_door, register):
    client, event, ids = at_the_door
    keys = registration_app[2].keys
    first = scan(client, event["id"], checkin_codes.token(keys, event["id"], ids[1]))
    assert first.status_code == 200
    assert answer(html(first)) == "✓ Registrado Persona 1"
    assert "<title>✓ Registrado: Persona 1 · Registro de asistencia" in html(first)
    assert re.search(r'<input type="text" id="code" name="code"[^>]*autofocus', html(first))
    assert "1 registrados en la entrada · 2 confirmados" in html(first)
    with registration_app[1].transaction() as session:
        at = session.get(Registration, ids[1]).checked_in_at
    zone = ZoneInfo(event["timezone"])
    again = scan(client, event["id"], checkin_codes.code(keys, event["id"], ids[1]))
    assert answer(html(again)) == f"! Ya registrado a las {wording.clock(at, zone, 'es')} Persona 1"
    forged = scan(client, event["id"], tampered(checkin_codes.token(keys, event["id"], ids[2])))
    assert forged.status_code == 422 and answer(html(forged)) == "✗ Código no válido"
    assert answer(html(scan(client, event["id"], "<b>hola</b>"))) == "✗ Código no válido"
    english = client.post(f"/events/{event['id']}/check-in?lang=en", data={
        "csrf_token": csrf(html(again)), "code": checkin_codes.code(keys, event["id"], ids[1])})
    assert answer(html(english)) == (
        f"! Already checked in at {wording.clock(at, zone, 'en')} Persona 1")


def test_a_foreign_or_cancelled_code_is_refused_in_words(registration_app, at_the_door,
                                                         make_event, register):
    client, event, ids = at_the_door
    keys = registration_app[2].keys
    other = make_event(title="Otro")
    foreign = register(other["id"], 9).get_json()["id"]
    page = scan(client, event["id"], checkin_codes.token(keys, other["id"], foreign))
    assert answer(html(page)) == "✗ No es de este evento"  # and not whose
    registration = client.application.extensions["abierto"]
    use_cases.cancel(registration.db, ids[2], registration.links, registration.clock())
    page = scan(client, event["id"], checkin_codes.token(keys, event["id"], ids[2]))
    assert page.status_code == 409 and answer(html(page)) == "✗ Cancelado Persona 2"


def test_a_cancelled_event_tells_staff_nobody_goes_in(registration_app, at_the_door,
                                                      organiser_headers):
    """The page says so, with the reason, in both languages and offers no form; a code sent
    anyway (a page opened before) is refused in words, and the person stays out."""
    client, event, ids = at_the_door
    keys = registration_app[2].keys
    assert client.post(f"/api/v1/events/{event['id']}/cancel", headers=organiser_headers, json={
        "reason": {"es": "Por lluvia", "en": "Due to rain"}}).status_code == 200
    spanish = html(client.get(f"/events/{event['id']}/check-in"))
    assert "Evento cancelado: nadie entra" in spanish and "Motivo: <span>Por lluvia" in spanish
    assert 'id="scan"' not in spanish and "/check-in/walk-in" not in spanish
    english = html(client.get(f"/events/{event['id']}/check-in?lang=en"))
    assert "Event cancelled: nobody goes in" in english and "Due to rain" in english
    page = client.post(f"/events/{event['id']}/check-in?lang=en", data={
        "csrf_token": csrf(spanish), "code": checkin_codes.token(keys, event["id"], ids[1])})
    assert page.status_code == 409
    assert answer(html(page)) == "✗ Event cancelled: nobody goes in"
    with registration_app[1].transaction() as session:
        assert session.get(Registration, ids[1]).checked_in_at is None


def test_a_walk_in_on_the_page(registration_app, at_the_door):
    client, event, _ = at_the_door
    path = f"/events/{event['id']}/check-in/walk-in"
    token = csrf(html(client.get(f"/events/{event['id']}/check-in")))
    form = {"csrf_token": token, "name": "Marta Ruiz", "sector": "media", "organization": "Radio",
            "email": "", "language": "es"}
    refused = client.post(path, data=form)  # the privacy box not ticked
    assert refused.status_code == 422
    page = html(refused)
    assert "Confirma que la persona aceptó el aviso de privacidad." in page
    assert 'value="Marta Ruiz"' in page and 'aria-invalid="true"' in page
    admitted = client.post(path, data={**form, "privacy_consent": "yes"})
    assert admitted.status_code == 200
    assert answer(html(admitted)) == "✓ Registrado Marta Ruiz"
    assert "1 registrados en la entrada · 2 confirmados · 1 sin registro previo" in html(admitted)


def test_revoking_the_link_shuts_the_page_at_once(registration_app, make_event, register,
                                                  staff_link, organiser_headers):
    client = registration_app[0]
    event = make_event()
    registration_id = register(event["id"], 1).get_json()["id"]
    url, link_id = staff_link(event["id"])
    client.get(url)
    token = csrf(html(client.get(f"/events/{event['id']}/check-in")))
    assert client.delete(f"/api/v1/events/{event['id']}/staff-links/{link_id}",
                         headers=organiser_headers).status_code == 204
    refused = client.post(f"/events/{event['id']}/check-in", data={
        "csrf_token": token,
        "code": checkin_codes.token(registration_app[2].keys, event["id"], registration_id)})
    assert refused.status_code == 403
    assert "Este enlace para el personal fue revocado" in html(refused)
    assert "abierto_door=;" in refused.headers["Set-Cookie"]  # forgotten
    assert "Registrado" not in html(refused)
    assert client.get(url).status_code == 403  # opening it again does not help


def test_a_token_typed_once_signs_the_page_in(registration_app, make_event, new_token):
    client, db, _ = registration_app
    event = make_event(title="Panel")
    page = f"/events/{event['id']}/check-in"
    token = csrf(html(client.get(page)))
    lacking = client.post(page + "/sign-in", data={"csrf_token": token,
                                                   "token": new_token(db, {"events:write"})})
    assert lacking.status_code == 403 and "checkin:write" in html(lacking)
    signed_in = client.post(page + "/sign-in", data={"csrf_token": token,
                                                     "token": new_token(db, {"checkin:write"})})
    assert signed_in.status_code == 303 and signed_in.headers["Location"].endswith(page)
    assert "SameSite=Strict" in signed_in.headers["Set-Cookie"]
    assert client.get(page).status_code == 200
    out = client.post(page + "/sign-out", data={"csrf_token": token})
    assert out.status_code == 303
    assert client.get(page).status_code == 401


def test_a_token_in_the_address_is_not_taken(registration_app, make_event, new_token):
    """Bearer tokens never travel in an address: only a staff link's credential does."""
    client, db, _ = registration_app
    event = make_event(title="Panel reservado")
    response = client.get(f"/events/{event['id']}/check-in?staff={new_token(db, {'checkin:write'})}")
    assert response.status_code == 401 and "Panel reservado" not in html(response)
    assert client.get(f"/events/{event['id']}/check-in").status_code == 401


def test_the_forms_need_their_csrf_token(at_the_door):
    client, event, _ = at_the_door
    for path in ("", "/walk-in", "/sign-out"):
        assert client.post(f"/events/{event['id']}/check-in{path}", data={"code": "x"}).status_code == 400


def test_an_unknown_event_with_a_token_is_a_404_page(registration_app, new_token):
    client, db, _ = registration_app
    page = "/events/999999/check-in"
    token = csrf(html(client.get(page)))
    client.post(page + "/sign-in", data={"csrf_token": token, "token": new_token(db, {"checkin:write"})})
    assert client.get(page).status_code == 404
