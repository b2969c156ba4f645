"""The staff's check-in page in a real browser (Debian's Chromium) on the running stack: a
staff link clicked in another site, a code typed as a USB scanner types it, the answer read
out, the camera button only where the browser reads QR codes; axe-core in both languages."""
import re

import pytest
import requests

from services.registration import checkin_codes
from shared.signing import Keys
from tests.e2e.browser import axe_violations, explain, screenshot

CODE_FIELD = "Código QR o código corto"


def assert_accessible(page, name):
    screenshot(page, name)
    assert axe_violations(page) == [], explain(axe_violations(page))
    assert page.csp_violations == [], explain(page.csp_violations)


@pytest.fixture
def door(stack, organiser, kiosk, new_event):
    """An event with two confirmed people: (event id, staff link URL, {n: short code})."""
    event_id = new_event(title="Panel de Gobierno Abierto")
    keys = Keys(stack.env["SECRET_KEY"])
    codes = {}
    for n, name in ((1, "Ana López"), (2, "Bruno Díaz")):
        registered = requests.post(
            stack.url("registration", f"/api/v1/events/{event_id}/registrations"), headers=kiosk,
            json={"name": name, "email": f"door{n}-{event_id}@example.org", "sector": "citizen",
                  "privacy_consent": True}, timeout=10).json()
        assert registered["status"] == "confirmed", registered
        codes[n] = checkin_codes.code(keys, event_id, registered["id"])
    link = requests.post(stack.url("registration", f"/api/v1/events/{event_id}/staff-links"),
                         json={"label": "Puerta"}, headers=organiser, timeout=10).json()
    return event_id, link, codes


def scan(page, code, label=CODE_FIELD):
    """Type a code and Enter, as a USB scanner does; wait for the answer's page."""
    page.get_by_label(label).type(code)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return page.get_by_role("status").inner_text()


def open_link(page, url):
    """Open the staff link as typed in the address bar; its page moves to the clean address."""
    page.goto(url)
    page.wait_for_url(re.compile(r"/check-in$"))


def open_from_another_site(page, url):
    """Click the staff link as staff do, in a mail or chat app: a cross-site navigation, in
    which the browser withholds SameSite=Strict cookies from any HTTP redirect."""
    page.set_content(f'<a href="{url}">Abrir el registro</a>')
    page.get_by_role("link", name="Abrir el registro").click()
    page.wait_for_url(re.compile(r"/check-in$"))


def test_a_typed_code_and_enter_show_the_name(stack, door, page):
    """The scanner types the code and Enter: the name, big, announced; a second time, when;
    the field is focused again for the next person."""
    event_id, link, codes = door
    open_from_another_site(page, link["url"])
    assert "staff=" not in page.url
    assert "Panel de Gobierno Abierto" in page.get_by_role("heading", level=1).inner_text()
    assert page.evaluate("document.activeElement.id") == "code"
    said = scan(page, codes[1])
    assert "Registrado" in said and "Ana López" in said
    assert page.evaluate("document.activeElement.id") == "code"
    assert "1 registrados en la entrada · 2 confirmados" in page.content()
    assert_accessible(page, "check-in-es")
    assert re.search(r"Ya registrado a las \d{1,2}:\d\d", scan(page, codes[1].lower()))
    assert "Código no válido" in scan(page, "1234-ZZZZZZ")
    assert_accessible(page, "check-in-invalid-es")
    assert not page.evaluate("'BarcodeDetector' in window")  # not on Linux desktops
    assert page.get_by_role("button", name="Usar cámara").is_hidden()


def test_the_page_in_english_and_a_walk_in(stack, door, page):
    event_id, link, codes = door
    open_link(page, link["url"])
    page.goto(stack.url("registration", f"/events/{event_id}/check-in?lang=en"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Checked in" in scan(page, codes[2], "QR code or short code")
    assert_accessible(page, "check-in-en")
    page.get_by_label("Name").fill("Marta Ruiz")
    page.get_by_label("Sector").select_option("media")
    with page.expect_navigation():
        page.get_by_role("button", name="Add and check in").click()
    assert page.get_by_role("alert").count() == 1  # the privacy box was not ticked
    assert_accessible(page, "check-in-walk-in-errors-en")
    page.get_by_label("The person accepted the privacy notice").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Add and check in").click()
    assert "Marta Ruiz" in page.get_by_role("status").inner_text()
    assert "2 checked in · 2 confirmed · 1 walk-ins" in page.content()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_without_a_credential_only_the_sign_in_shows(stack, door, page, lang):
    event_id, _, _ = door
    page.goto(stack.url("registration", f"/events/{event_id}/check-in?lang={lang}"))
    assert "Panel de Gobierno Abierto" not in page.content()
    assert page.get_by_label("Token de acceso" if lang == "es" else "Access token").count() == 1
    assert_accessible(page, f"check-in-sign-in-{lang}")


def test_a_revoked_link_shuts_the_open_page(stack, organiser, door, page):
    event_id, link, codes = door
    open_link(page, link["url"])
    requests.delete(stack.url("registration", f"/api/v1/events/{event_id}/staff-links/{link['id']}"),
                    headers=organiser, timeout=10).raise_for_status()
    page.get_by_label(CODE_FIELD).type(codes[1])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "fue revocado" in page.get_by_role("alert").inner_text()
    assert "Ana López" not in page.content()
    assert_accessible(page, "check-in-revoked-es")


def test_the_camera_button_appears_where_the_browser_reads_qr_codes(stack, door, page):
    """A stand-in BarcodeDetector that knows qr_code (as Chrome on Android does): the button
    shows; the page's script needs nothing else to decide."""
    page.add_init_script("""window.BarcodeDetector = class {
        static getSupportedFormats() { return Promise.resolve(["qr_code"]); }
        detect() { return Promise.resolve([]); } };""")
    open_link(page, door[1]["url"])
    assert page.get_by_role("button", name="Usar cámara").is_visible()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_cancelled_events_page_says_nobody_goes_in(stack, organiser, door, page, lang):
    event_id, link, _ = door
    requests.post(stack.url("registration", f"/api/v1/events/{event_id}/cancel"),
                  json={"reason": {"es": "Por lluvia", "en": "Due to rain"}}, headers=organiser,
                  timeout=10).raise_for_status()
    open_link(page, link["url"])
    page.goto(stack.url("registration", f"/events/{event_id}/check-in?lang={lang}"))
    said = ("Evento cancelado: nadie entra", "Por lluvia") if lang == "es" else (
        "Event cancelled: nobody goes in", "Due to rain")
    assert page.get_by_role("heading", name=said[0]).count() == 1 and said[1] in page.content()
    assert page.get_by_label(CODE_FIELD if lang == "es" else "QR code or short code").count() == 0
    assert_accessible(page, f"check-in-cancelled-{lang}")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_an_ended_events_page_shows_its_attendance_accessibly(stack, new_event, page, lang):
    event_id = new_event(starts_at="2024-05-31T10:00:00-06:00", ends_at="2024-05-31T12:00:00-06:00")
    page.goto(stack.url("registration", f"/events/{event_id}?lang={lang}"))
    assert page.get_by_role("heading", name="Asistencia" if lang == "es" else "Attendance").count() == 1
    assert page.get_by_role("table").count() == 1
    assert_accessible(page, f"event-attendance-{lang}")
