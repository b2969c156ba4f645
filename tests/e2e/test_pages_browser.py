"""The public pages in a real browser (Debian's Chromium): what a citizen does, and axe-core."""
import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.browser import axe_violations, explain, screenshot
from shared.devstack import wait_until
from tests.e2e.harness import unique_addresses
from tests.e2e.test_commitments_flow import change, new_commitment, writer  # noqa: F401 (fixture)

PAST = {"starts_at": "2024-05-31T10:00:00-06:00", "ends_at": "2024-05-31T12:00:00-06:00"}


def assert_accessible(page, name):
    """Keep a screenshot for the reviewer, let axe-core find nothing wrong, and the page's
    Content-Security-Policy refuse nothing (it allows no inline style or script)."""
    screenshot(page, name)
    assert axe_violations(page) == [], explain(axe_violations(page))
    assert page.csp_violations == [], explain(page.csp_violations)


def fill_registration(page, name, email):
    page.get_by_label("Nombre").fill(name)
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Organización (opcional)").fill("Colectivo Norte")
    page.get_by_label("Sector").select_option("civil_society")
    page.get_by_label("Acepto el aviso de privacidad").check()


def test_register_on_the_page_then_the_email_arrives(stack, smtp, new_event, page):
    """Confirmed, then waitlisted, through the form: one page for both; each gets its email."""
    event_id = new_event(capacity=1, latitude=28.6353, longitude=-106.0889)
    first, second = unique_addresses(2, "page")
    page.goto(stack.url("registration", f"/events/{event_id}"))
    assert page.get_by_role("link", name=re.compile("OpenStreetMap")).count() == 1
    fill_registration(page, "Ana López", first)
    page.get_by_role("button", name="Registrarme").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Revisa tu correo"
    assert_accessible(page, "registered-es")
    page.goto(stack.url("registration", f"/events/{event_id}"))
    fill_registration(page, "Bruno Díaz", second)
    page.get_by_role("button", name="Registrarme").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Revisa tu correo"  # the same page
    confirmation = smtp.inbox.wait_for([first, second])[first][0].get_body(("plain",)).get_content()
    page.goto(next(w for w in confirmation.split() if "/registrations/cancel/" in w).strip("<>().,"))
    assert "Ana López" in page.content() and page.get_by_role("link", name="Agregar al calendario").count()
    assert_accessible(page, "own-registration-es")


def test_a_bad_email_is_explained_beside_the_field_and_answers_are_kept(stack, new_event, page):
    """The error sits by the email field, announced, and the name typed stays."""
    page.goto(stack.url("registration", f"/events/{new_event()}"))
    fill_registration(page, "Carla Ruiz", "no-es-un-correo@")
    page.get_by_label("Correo electrónico").evaluate("e => e.type = 'text'")  # past the browser's own check
    page.get_by_role("button", name="Registrarme").click()
    email = page.get_by_label("Correo electrónico")
    assert email.get_attribute("aria-invalid") == "true"
    error_id = email.get_attribute("aria-describedby").split()[-1]
    assert page.locator(f"#{error_id}").inner_text().strip()
    assert page.get_by_role("alert").count() == 1
    assert page.get_by_label("Nombre").input_value() == "Carla Ruiz"
    assert_accessible(page, "form-errors-es")


def test_the_language_switch_sticks_and_a_past_event_has_no_form(stack, new_event, page):
    """English by the switch, still English on the next page; a past event says it is closed."""
    event_id = new_event(**PAST)
    page.goto(stack.url("registration", "/"))
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(stack.url("registration", f"/events/{event_id}"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Registration is closed" in page.content() and page.locator("form").count() == 0


def test_follow_from_the_commitment_page_then_alert_then_leave(stack, smtp, writer, page):  # noqa: F811
    """Follow by the page's form, confirm from the email, get the alert, leave by its link."""
    commitment_id, milestone_id = new_commitment(stack, writer)
    (address,) = unique_addresses(1, "pagefollow")
    page.goto(stack.url("commitments", f"/commitments/{commitment_id}"))
    page.get_by_label("Correo electrónico").fill(address)
    page.get_by_role("button", name="Seguir").click()
    assert "Revisa tu correo" in page.content()
    assert_accessible(page, "follow-requested")
    opt_in = smtp.inbox.wait_for([address])[address][0].get_body(("plain",)).get_content()
    page.goto(next(w for w in opt_in.split() if "/subscriptions/confirm/" in w).strip("<>().,"))
    assert_accessible(page, "follow-confirm")
    page.get_by_role("button").first.click()
    change(stack, writer, milestone_id, status="met", progress_pct=100, justification="Concluido")
    wait_until(lambda: len(smtp.inbox.to(address)) == 2, 30, what="the alert")
    unsubscribe = str(smtp.inbox.to(address)[1]["List-Unsubscribe"]).strip().strip("<>")
    page.goto(unsubscribe)
    assert_accessible(page, "unsubscribe")
    page.get_by_role("button").first.click()
    assert_accessible(page, "unsubscribed")
    assert requests.get(stack.url("commitments", f"/commitments/{commitment_id}"), timeout=10).ok


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_page_has_no_accessibility_violations(stack, new_event, writer, page, lang):  # noqa: F811
    """axe-core (WCAG 2.2 A/AA) finds nothing on any page, in either language, nothing is
    loaded from anywhere but our own services, and no CSP violation (the event page's JSON-LD
    block included); screenshots kept."""
    commitment_id, milestone_id = new_commitment(stack, writer)
    event_id = new_event(related_commitments=[commitment_id], latitude=28.6353, longitude=-106.0889)
    change(stack, writer, milestone_id, status="met", progress_pct=100, justification="Concluido")
    pages = {
        "events": stack.url("registration", "/"),
        "event": stack.url("registration", f"/events/{event_id}"),
        "privacy": stack.url("registration", "/privacy"),
        "plan": stack.url("commitments", "/"),
        "commitment": stack.url("commitments", f"/commitments/{commitment_id}"),
    }
    found, origins = {}, set()
    page.on("request", lambda request: origins.add(urlsplit(request.url).hostname))
    for name, url in pages.items():
        page.goto(f"{url}?lang={lang}")
        screenshot(page, f"{name}-{lang}-{stack.folder.name}")
        violations = axe_violations(page) + page.csp_violations
        if violations:
            found[name] = violations
        page.csp_violations.clear()
    assert found == {}, explain(found)
    assert origins == {"127.0.0.1"}, f"pages loaded something from elsewhere: {origins}"
    page.goto(pages["event"])  # the related commitment by its title, read from the commitments API
    title = {"es": "Grupo de trabajo para el desarrollo rural",
             "en": "Working group for rural development"}[lang]
    assert page.get_by_role("link", name=re.compile(f": {title}$")).count() == 1


def test_the_csp_watch_sees_what_the_policy_refuses(stack, page):
    """The checks above can fail: an inline style and another origin's image are refused and
    reported."""
    page.goto(stack.url("registration", "/privacy"))
    page.evaluate("""() => {
        const style = document.createElement("style");
        style.textContent = "body { color: red }";
        document.head.append(style);
        document.body.append(Object.assign(document.createElement("img"), {src: "http://127.0.0.1:9/x.png"}));
    }""")
    for _ in range(50):  # the reports arrive while Playwright runs, not during time.sleep
        if len(page.csp_violations) >= 2:
            break
        page.wait_for_timeout(100)
    assert sorted(v["directive"] for v in page.csp_violations) == ["img-src", "style-src-elem"]
    assert page.evaluate("getComputedStyle(document.body).color") != "rgb(255, 0, 0)"
    page.csp_violations.clear()  # seen; the fixture fails a test on any left over


def test_my_data_in_the_browser_from_the_privacy_notice_to_deletion(stack, smtp, new_event, page):
    """From the privacy notice to "Mis datos": ask, open the emailed link, see, delete; each
    page accessible and within its CSP."""
    event_id = new_event()
    (address,) = unique_addresses(1, "browserdata")
    requests.post(stack.url("registration", f"/api/v1/events/{event_id}/registrations"), json={
        "name": "Dora Ortiz", "email": address, "sector": "citizen", "privacy_consent": True,
        "accessibility_needs": "Rampa de acceso", "accessibility_consent": True}, timeout=10)
    page.goto(stack.url("registration", "/privacy"))
    page.get_by_role("link", name="Mis datos").first.click()
    assert_accessible(page, "my-data-ask-es")
    page.get_by_label("Correo electrónico").fill(address)
    page.get_by_role("button", name="Enviarme el enlace").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Revisa tu correo"
    wait_until(lambda: any("/my-data/" in m.get_body(("plain",)).get_content()
                           for m in smtp.inbox.to(address)), 30, what="the my-data link")
    mail = next(m for m in smtp.inbox.to(address) if "Tu enlace" in m["Subject"])
    link = next(w for w in mail.get_body(("plain",)).get_content().split() if "/my-data/" in w)
    page.goto(link.strip("<>().,"))
    assert "Dora Ortiz" in page.content() and "Rampa de acceso" in page.content()
    assert_accessible(page, "my-data-es")
    page.get_by_role("link", name="Borrar todos mis datos…").click()
    assert_accessible(page, "my-data-delete-es")
    page.get_by_role("button", name="Sí, borrar todo").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Datos borrados"
    assert_accessible(page, "my-data-deleted-es")
