"""What an invite says beyond the time and place: the description and the page, a UID under
the deployment's domain; and the waiting-list email's place in line. Pure."""
import email
import email.policy

import pytest
from icalendar.parser import Contentline

from services.notifications.mail import compose
from shared import calendar, wording
from tests.unit.test_emails import MAIL_FROM, bodies, fact, invite_of, received

LONG = ("El panel presenta el avance de los tres compromisos del plan de acción. " * 12).strip()


def with_description(language="es", es=LONG, en=None):
    data = fact(language)
    data["event"].update(description=es, description_en=en)
    return data


@pytest.mark.parametrize("public_url, mail_from, domain", [
    ("https://eventos.chihuahua.gob.mx", "Abierto <abierto@chihuahua.gob.mx>",
     "eventos.chihuahua.gob.mx"),
    ("https://Eventos.Chihuahua.gob.mx:8443/base", "x@y.z", "eventos.chihuahua.gob.mx"),
    # an address or localhost names no one in the world: MAIL_FROM's domain does
    ("http://127.0.0.1:5001", "Abierto <abierto@chihuahua.gob.mx>", "chihuahua.gob.mx"),
    ("http://[::1]:5001", "abierto@chihuahua.gob.mx", "chihuahua.gob.mx"),
    ("http://localhost:5001", "Abierto <abierto@localhost>", "localhost"),
])
def test_uids_are_made_under_the_deployments_domain(public_url, mail_from, domain):
    assert calendar.uid_domain(public_url, mail_from) == domain
    assert calendar.registration_uid(7, domain) == f"registration-7@{domain}"


def test_the_invite_uid_follows_the_domain_the_worker_gives():
    message = compose.build("registration_confirmed", fact(), mail_from=MAIL_FROM,
                            message_id="<1@example.org>", uid_domain="eventos.chihuahua.gob.mx")
    message = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    (entry,) = invite_of(message).events
    assert str(entry["UID"]) == "registration-7@eventos.chihuahua.gob.mx"


@pytest.mark.parametrize("language, page", [("es", "Página del evento"), ("en", "Event page")])
def test_the_invite_describes_the_event_in_the_readers_language_then_its_page(language, page):
    data = with_description(language, es="Un panel sobre el plan.", en="A panel on the plan.")
    (entry,) = invite_of(received("registration_confirmed", data)).events
    description = str(entry["DESCRIPTION"])
    words = {"es": "Un panel sobre el plan.", "en": "A panel on the plan."}
    assert description.startswith(words[language])
    assert words["en" if language == "es" else "es"] not in description
    assert description.endswith(f"{page}: http://127.0.0.1:5001/events/1?lang={language}")


def test_english_readers_get_the_spanish_description_when_there_is_no_translation():
    (entry,) = invite_of(received("registration_confirmed", with_description("en"))).events
    assert str(entry["DESCRIPTION"]).startswith("El panel presenta")


def test_a_long_description_is_cut_at_a_word_and_says_so():
    (entry,) = invite_of(received("registration_confirmed", with_description())).events
    shown = str(entry["DESCRIPTION"]).split("\n\n")[0]
    assert len(shown) <= 500 and shown.endswith("…") and LONG.startswith(shown[:-1])
    assert shown[:-1] == shown[:-1].rstrip() and LONG[len(shown) - 1] in " .,"  # a whole word


def test_shorten_keeps_whole_paragraphs_when_they_fit():
    text = "Primero.\n\nSegundo párrafo, bastante más largo que el primero."
    assert wording.shorten(text, 100) == text
    assert wording.shorten(text, 30) == "Primero…"
    assert wording.shorten("   ", 10) == ""
    assert wording.shorten("x" * 50, 10) == "x" * 9 + "…"


@pytest.mark.parametrize("position, es, en", [
    (3, "Tu lugar en la lista: 3.", "Your place on the list: 3."),
    (1, "Tu lugar en la lista: 1 (eres la primera persona).",
     "Your place on the list: 1 (you are first)."),
])
def test_the_waiting_list_email_says_the_place_in_line(position, es, en):
    data = fact(kind="registration_waitlisted")
    data["registration"]["waitlist_position"] = position
    text, html = bodies(received("registration_waitlisted", data))
    assert es in text and en in text
    assert f"<strong>{position}</strong>" in html


def test_a_waiting_list_fact_without_a_place_still_reads_well():
    text, _ = bodies(received("registration_waitlisted", fact(kind="registration_waitlisted")))
    assert "lista de espera" in text and "Tu lugar en la lista" not in text


@pytest.mark.parametrize("name", [
    None, "Ana", "Persona 1 López", "María José Núñez de la Peña y Fernández-Villaverde Ochoa",
    "🎉" * 40, "ñ" * 100, "a" * 20 + "é" * 30 + "b" * 45, "Ana \\ Bob ^ Carla " * 6,
    "Ana; Bob, \"Carla\": Diego" * 3,
])
@pytest.mark.parametrize("address", ["a@example.org", "x" * 70 + "@example.org"])
def test_an_attendee_line_is_folded_as_icalendar_folds_it(name, address):
    attendee = calendar._attendee(address, name)
    line = Contentline.from_parts("ATTENDEE", attendee.params, attendee)
    assert calendar.attendee_line(address, name) == line.to_ical() + b"\r\n"
