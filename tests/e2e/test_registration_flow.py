"""A citizen registers and the confirmation arrives: the whole path through real processes."""
import time
from datetime import datetime, timezone

import icalendar
import requests

from shared.devstack import wait_until
from tests.e2e.harness import register, unique_addresses


def _ics(message):
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(parts[0].get_content()) if parts else None


def _text(message):
    return message.get_body(("plain",)).get_content()


def test_registration_sends_one_bilingual_confirmation_with_invite(stack, smtp, new_event):
    """Confirmed attendees get one email: Spanish first (or English when asked) with an .ics."""
    event_id = new_event()
    es, en = unique_addresses(2, "flow")
    assert register(stack, event_id, es, "es", "José Ñúñez").status_code == 202
    assert register(stack, event_id, en, "en", "Jane Doe").status_code == 202

    mail = smtp.inbox.wait_for([es, en])
    spanish, english = mail[es][0], mail[en][0]
    assert "José Ñúñez" in str(spanish["To"])
    es_line, en_line = "Tu registro está confirmado", "Your registration is confirmed"
    assert _text(spanish).index(es_line) < _text(spanish).index(en_line)
    assert _text(english).index(en_line) < _text(english).index(es_line)
    assert str(spanish["Subject"]).strip().startswith("Registro confirmado")
    assert "10:00" in _text(spanish)  # 16:00 UTC shown in America/Chihuahua
    assert spanish.get_body(("html",)) is not None
    event = _ics(spanish).walk("VEVENT")[0]
    assert event["DTSTART"].dt.astimezone(timezone.utc) == datetime(2031, 5, 30, 16, tzinfo=timezone.utc)
    assert "Eloy S. Vallina" in str(event["LOCATION"])
    assert "mailto:" in str(event["ORGANIZER"])


def test_same_email_twice_with_a_token_is_one_registration_and_one_email(
        stack, smtp, new_event, kiosk):
    """With a registrations:write token, registering again answers 200 with the same
    registration and sends nothing new (the caller already knows)."""
    event_id = new_event()
    (address,) = unique_addresses(1, "twice")
    first = register(stack, event_id, address, headers=kiosk)
    again = register(stack, event_id, address.upper(), headers=kiosk)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    smtp.inbox.wait_for([address])
    time.sleep(2)  # time enough for a second email to arrive, if one were sent
    assert len(smtp.inbox.to(address)) == 1


def test_same_email_twice_anonymously_answers_alike_and_tells_only_the_owner(
        stack, smtp, new_event):
    """Anonymous: the same 202 for the new email and the repeat; the repeat is one
    registration, and its owner gets a "you are already registered" email with their link."""
    event_id = new_event()
    (address,) = unique_addresses(1, "again")
    first = register(stack, event_id, address)
    again = register(stack, event_id, address.upper())
    assert (first.status_code, first.content) == (again.status_code, again.content)
    assert first.status_code == 202 and "id" not in first.json()
    wait_until(lambda: len(smtp.inbox.to(address)) == 2, 30, what="confirmation and repeat")
    confirmation, repeat = smtp.inbox.to(address)
    assert str(repeat["Subject"]).startswith("Ya estás registrado")
    assert "Estado de tu registro: confirmado" in _text(repeat) and _ics(repeat) is None
    link = next(w for w in _text(confirmation).split() if "/registrations/cancel/" in w)
    assert link in _text(repeat)


def test_waitlist_cancel_and_promotion(stack, smtp, new_event, organiser, kiosk):
    """Full event: the second person waits; the first cancels by link; the second gets the seat."""
    event_id = new_event(capacity=1)
    first, second = unique_addresses(2, "seat")
    assert register(stack, event_id, first, headers=kiosk).json()["status"] == "confirmed"
    assert register(stack, event_id, second, headers=kiosk).json()["status"] == "waitlisted"
    waiting = smtp.inbox.wait_for([second])[second][0]
    assert "lista de espera" in _text(waiting).lower() and _ics(waiting) is None

    confirmation = smtp.inbox.wait_for([first])[first][0]
    cancel_url = next(word for word in _text(confirmation).split()
                      if "/registrations/cancel/" in word).strip("<>().,")
    page = requests.get(cancel_url, timeout=10)
    assert page.status_code == 200 and "<form" in page.text  # a GET only shows
    assert requests.post(cancel_url, timeout=10).status_code == 200

    wait_until(lambda: len(smtp.inbox.to(first)) == 2 and len(smtp.inbox.to(second)) == 2,
               30, what="cancellation and promotion emails")
    cancelled, promoted = smtp.inbox.to(first)[1], smtp.inbox.to(second)[1]
    assert _ics(cancelled)["METHOD"] == "CANCEL"
    # Under MAIL_FROM's domain: the stack's registration site is at 127.0.0.1.
    second_id = register(stack, event_id, second, headers=kiosk).json()["id"]
    assert _ics(promoted).walk("VEVENT")[0]["UID"] == f"registration-{second_id}@chihuahua.example"
    listing = requests.get(stack.url("registration", f"/api/v1/events/{event_id}/registrations"),
                           headers=organiser, timeout=10).json()
    assert {r["email"]: r["status"] for r in listing["items"]} == {first: "cancelled", second: "confirmed"}


def test_logs_hold_no_personal_data(stack, smtp, new_event):
    """After a registration has gone all the way to an email, no process log names the person."""
    event_id = new_event()
    (address,) = unique_addresses(1, "privacy")
    assert register(stack, event_id, address, name="Rosalía Privada").status_code == 202
    smtp.inbox.wait_for([address])
    for name in stack.commands:
        log = stack.log(name)
        assert address not in log and "Rosalía Privada" not in log, f"{name} logged personal data"
