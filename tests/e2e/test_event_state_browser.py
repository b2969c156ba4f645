"""An event that changed, in a real browser: the cancelled and the moved event's pages and the
attendee's own page (with its QR code), in Spanish and English, with axe-core finding nothing
and the Content-Security-Policy refusing nothing."""
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import update

from services.registration.facts import Links
from services.registration.models import Event
from shared.db import Database
from shared.signing import Keys
from tests.e2e.browser import axe_violations, explain, screenshot
from tests.e2e.harness import unique_addresses

REASON = {"es": "Por la contingencia por lluvias.", "en": "Because of the heavy rain."}


@pytest.fixture
def set_event(stack):
    """set_event(event_id, **columns): the event's state, written into the stack's database
    (what the cancel and postpone use cases write)."""
    db = Database(stack.env["REGISTRATION_DATABASE_URL"])

    def write(event_id, **columns):
        with db.transaction() as session:
            session.execute(update(Event).where(Event.id == event_id).values(**columns))

    yield write
    db.dispose()


def own_page_url(stack, registration_id):
    """The link every email carries, signed with the stack's key."""
    path = urlsplit(Links("", Keys(stack.env["SECRET_KEY"])).cancel(registration_id)).path
    return stack.url("registration", path)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_changed_event_pages_have_no_accessibility_violations(stack, new_event, kiosk, set_event,
                                                              page, lang):
    cancelled = new_event(title={"es": "Foro cancelado", "en": "Cancelled forum"})
    set_event(cancelled, status="cancelled", status_reason=REASON)
    moved = new_event(title={"es": "Panel con nueva fecha", "en": "Panel on a new date"})
    (address,) = unique_addresses(1, f"ownpage{lang}")
    registration = requests.post(stack.url("registration", f"/api/v1/events/{moved}/registrations"),
                                 json={"name": "Elena Soto", "email": address, "sector": "citizen",
                                       "privacy_consent": True}, headers=kiosk, timeout=10)
    assert registration.json()["status"] == "confirmed", registration.text
    set_event(moved, status="rescheduled", online_url="https://meet.example.org/panel")
    pages = {
        "cancelled-event": stack.url("registration", f"/events/{cancelled}"),
        "moved-event": stack.url("registration", f"/events/{moved}"),
        "events": stack.url("registration", "/"),
        "own-registration": own_page_url(stack, registration.json()["id"]),
    }
    found = {}
    for name, url in pages.items():
        page.goto(f"{url}?lang={lang}")
        screenshot(page, f"{name}-{lang}-{stack.folder.name}")
        violations = axe_violations(page) + page.csp_violations
        if violations:
            found[name] = violations
        page.csp_violations.clear()
    assert found == {}, explain(found)

    page.goto(f"{pages['cancelled-event']}?lang={lang}")
    banner = page.get_by_role("region", name={"es": "Evento cancelado", "en": "Event cancelled"}[lang])
    assert REASON[lang] in banner.inner_text() and page.locator("form").count() == 0
    page.goto(f"{pages['own-registration']}?lang={lang}")
    qr = page.get_by_role("img", name={"es": "Código QR de registro", "en": "Check-in QR code"}[lang],
                          exact=False)
    assert qr.count() == 1 and qr.bounding_box()["width"] >= 150
    assert page.get_by_role("link", name="https://meet.example.org/panel").count() == 1
