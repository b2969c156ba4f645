"""What a recipient sees in the registration emails: parts, languages, local times, links, .ics."""
import copy
import email
import email.policy
from datetime import datetime, timezone

import icalendar
import pytest

from services.notifications.mail import calendar_invite, compose, kinds
from services.notifications.mail.kind import ATTENDEE, KINDS_TEMPLATES
from services.notifications.mail.registration_email import ICS_FILENAME

MAIL_FROM = "Abierto <abierto@example.org>"
CANCEL_URL = "http://127.0.0.1:5001/registrations/cancel/eyJpZCI6N30.ZkXyQw.sig-nature_1"
CONFIRM_URL = "http://127.0.0.1:5001/registrations/confirm/eyJpZCI6N30.ZkXyQw.sig-nature_2"
WITH_ICS = ("registration_confirmed", "registration_promoted", "registration_cancelled",
            "event_changed", "event_cancelled", "reminder")
REMOVES = ("registration_cancelled", "event_cancelled")  # their invite is a CANCEL
WITH_CANCEL_LINK = ("registration_confirmed", "registration_waitlisted", "registration_promoted",
                    "registration_pending", "registration_repeat", "event_changed",
                    "event_postponed", "reminder")
# What each fact of the event's life carries beside `registration` and `event`.
EXTRA = {
    "event_changed": {"changes": {"venue": {
        "old": "Sala de Cabildo", "new": "Salón del Séptimo piso del Edificio Eloy S. Vallina"}}},
    "event_cancelled": {"reason": {"es": "Lluvia intensa", "en": "Heavy rain"}},
    "event_postponed": {"reason": {"es": "Lluvia intensa", "en": "Heavy rain"}},
    "reminder": {"reminder": {"offset": "P1D", "due_at": "2024-05-30T16:00:00+00:00"}},
}
KINDS = [name for name, kind in sorted(kinds.REGISTRY.items()) if kind.audience == ATTENDEE]
# A phrase that only the Spanish section and only the English section contain.
MARKERS = {"es": "Hola, ", "en": "Hello "}


def fact(language="es", name="Ana López", registration_id=7, kind=None):
    """A registration fact's data; for `registration_pending`, a held seat's (its confirm link);
    for `registration_cancelled`, the invite sequence registration raised before its CANCEL."""
    data = {
        "registration": {
            "id": registration_id,
            "name": name,
            "email": "ana@example.org",
            "language": language,
            "status": "confirmed",
            "cancel_url": CANCEL_URL,
        },
        "event": {
            "id": 1,
            "title": "Presentación del Cumplimiento del Plan de Acción de Gobierno Abierto",
            "starts_at": "2024-05-31T16:00:00+00:00",
            "ends_at": "2024-05-31T18:00:00+00:00",
            "timezone": "America/Chihuahua",
            "venue": "Salón del Séptimo piso del Edificio Eloy S. Vallina",
            "address": "Calle Victoria No.4, Centro",
            "city": "Chihuahua",
            "country": "MX",
            "host_organization": "Coordinación de Transparencia, Gobierno Abierto y Archivos "
            "del Municipio de Chihuahua",
            "url": "http://127.0.0.1:5001/events/1",
        },
    }
    if kind == "registration_pending":
        data["registration"].update(status="pending", confirm_url=CONFIRM_URL,
                                    held_until="2024-05-20T18:30:00+00:00")
    if kind == "registration_cancelled":
        data["registration"].update(status="cancelled", invite_sequence=1)
    data.update(copy.deepcopy(EXTRA.get(kind, {})))
    return data


def received(kind, data=None):
    """Build, serialise and parse back, as a mail client would."""
    message = compose.build(
        kind, data or fact(kind=kind), mail_from=MAIL_FROM, message_id="<42.abc@abierto.example.org>"
    )
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def bodies(message):
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


def ics_parts(message):
    attachments = message.iter_attachments()
    return [part for part in attachments if part.get_content_type() == "text/calendar"]


def invite_of(message):
    (part,) = ics_parts(message)
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


@pytest.mark.parametrize("kind", KINDS)
def test_structure_is_mixed_with_text_then_html_alternative(kind):
    message = received(kind, fact(kind=kind))
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html = alternative.get_payload()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"


@pytest.mark.parametrize("kind", KINDS)
def test_headers(kind):
    message = received(kind, fact(kind=kind))
    assert message["From"] == MAIL_FROM
    assert message["Message-ID"] == "<42.abc@abierto.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime.tzinfo is not None
    assert message["To"].addresses[0].addr_spec == "ana@example.org"
    assert "Presentación del Cumplimiento" in message["Subject"]


def test_subject_puts_the_recipients_language_first():
    assert received("registration_confirmed")["Subject"] == (
        "Registro confirmado: Presentación del Cumplimiento del Plan de Acción de Gobierno "
        "Abierto / Registration confirmed"
    )
    english = received("registration_confirmed", fact(language="en"))["Subject"]
    assert english.startswith("Registration confirmed: ")
    assert english.endswith(" / Registro confirmado")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language, other", [("es", "en"), ("en", "es")])
def test_both_languages_with_the_recipients_first(kind, language, other):
    text, html = bodies(received(kind, fact(language=language, kind=kind)))
    assert text.index(MARKERS[language]) < text.index(MARKERS[other])
    assert html.index(f'<div lang="{language}">') < html.index(f'<div lang="{other}">')
    assert html.index(MARKERS[language]) < html.index(MARKERS[other])
    assert f'<html lang="{language}">' in html


@pytest.mark.parametrize("kind", KINDS)
def test_times_are_shown_in_the_events_zone(kind):
    for part in bodies(received(kind, fact(kind=kind))):
        assert "10:00" in part and "12:00" in part
        assert "16:00" not in part and "18:00" not in part
        assert "GMT-06:00" in part
        assert "viernes, 31 de mayo de 2024" in part
        assert "Friday, May 31, 2024" in part


@pytest.mark.parametrize("kind", KINDS)
def test_event_details_are_in_both_parts(kind):
    data = fact(kind=kind)
    for part in bodies(received(kind, data)):
        for key in ("venue", "address", "city", "host_organization", "url"):
            assert data["event"][key] in part
        assert "México" in part and "Mexico" in part


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_link_only_while_the_registration_is_alive(kind):
    text, html = bodies(received(kind, fact(kind=kind)))
    if kind in WITH_CANCEL_LINK:
        # each language's section opens the page in its language
        assert f"cancela tu registro aquí: {CANCEL_URL}?lang=es" in text
        assert f"cancel your registration here: {CANCEL_URL}?lang=en" in text
        assert html.count(f'href="{CANCEL_URL}?lang=es"') == 1
        assert html.count(f'href="{CANCEL_URL}?lang=en"') == 1
    else:
        assert CANCEL_URL not in text and CANCEL_URL not in html


@pytest.mark.parametrize("kind", KINDS)
def test_ics_attached_only_when_it_changes_the_calendar(kind):
    parts = ics_parts(received(kind, fact(kind=kind)))
    if kind not in WITH_ICS:
        assert parts == []
        return
    (part,) = parts
    assert part.get_filename() == ICS_FILENAME
    assert part.get_content_disposition() == "attachment"
    expected = "CANCEL" if kind in REMOVES else "REQUEST"
    assert part.get_param("method") == expected


@pytest.mark.parametrize("was", ["waitlisted", "pending"])
def test_a_cancellation_without_a_seat_withdraws_no_invite(was):
    """Only a confirmed seat was sent an invite: nothing to remove, and no word of a file."""
    data = {**fact(kind="registration_cancelled"), "cancelled_from": was}
    for language in ("es", "en"):
        data["registration"]["language"] = language
        message = received("registration_cancelled", data)
        assert ics_parts(message) == [] and not list(message.iter_attachments())
        plain, html = bodies(message)
        for said in ("Adjuntamos", "attached", ICS_FILENAME, "None"):
            assert said not in plain and said not in html
    seated = {**fact(kind="registration_cancelled"), "cancelled_from": "confirmed"}
    assert str(invite_of(received("registration_cancelled", seated))["METHOD"]) == "CANCEL"


@pytest.mark.parametrize(
    "kind, method, status, sequence",
    [
        ("registration_confirmed", "REQUEST", "CONFIRMED", 0),
        ("registration_promoted", "REQUEST", "CONFIRMED", 0),
        ("registration_cancelled", "CANCEL", "CANCELLED", 1),
    ],
)
def test_ics_content(kind, method, status, sequence):
    invite = invite_of(received(kind, fact(kind=kind)))
    assert str(invite["PRODID"]) == "-//Abierto//Gobierno Abierto//ES"
    assert str(invite["VERSION"]) == "2.0"
    assert str(invite["METHOD"]) == method
    (event,) = invite.events
    assert str(event["STATUS"]) == status
    assert int(event["SEQUENCE"]) == sequence
    assert event.start.astimezone(timezone.utc) == datetime(2024, 5, 31, 16, tzinfo=timezone.utc)
    assert event.end.astimezone(timezone.utc) == datetime(2024, 5, 31, 18, tzinfo=timezone.utc)
    assert event["DTSTART"].params["TZID"] == "America/Chihuahua"
    assert [str(tz["TZID"]) for tz in invite.walk("VTIMEZONE")] == ["America/Chihuahua"]
    assert str(event["SUMMARY"]).startswith("Presentación del Cumplimiento")
    assert str(event["LOCATION"]) == (
        "Salón del Séptimo piso del Edificio Eloy S. Vallina, "
        "Calle Victoria No.4, Centro, Chihuahua"
    )
    # the event's page, in the attendee's language, closes the description
    assert str(event["DESCRIPTION"]).endswith("Página del evento: http://127.0.0.1:5001/events/1?lang=es")
    assert str(event["URL"]) == "http://127.0.0.1:5001/events/1?lang=es"
    assert str(event["ORGANIZER"]) == "mailto:abierto@example.org"
    assert event["ORGANIZER"].params["CN"].startswith("Coordinación de Transparencia, ")
    # the one person it is for, who asked for the seat: nothing to answer
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:ana@example.org"
    assert attendee.params["CN"] == "Ana López"
    assert (attendee.params["PARTSTAT"], attendee.params["RSVP"]) == ("ACCEPTED", "FALSE")
    # when this invite was made, though the rest of it is shared by the event's attendees
    stamp = event["DTSTAMP"].dt
    assert abs(stamp - datetime.now(timezone.utc)).total_seconds() < 60


def test_uid_is_the_same_for_every_email_about_one_registration():
    uids = {str(invite_of(received(kind, fact(kind=kind))).events[0]["UID"]) for kind in WITH_ICS}
    assert uids == {"registration-7@example.org"}  # no uid_domain given: MAIL_FROM's domain
    other = invite_of(received("registration_confirmed", fact(registration_id=8)))
    assert str(other.events[0]["UID"]) == "registration-8@example.org"


def test_html_escapes_what_people_type():
    data = fact(name='<script>alert("x")</script>')
    text, html = bodies(received("registration_confirmed", data))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<script>alert("x")</script>' in text


@pytest.mark.parametrize("language", ["es", "en"])
def test_non_ascii_name_survives_in_to_header(language):
    message = compose.build(
        "registration_confirmed", fact(language=language, name="José Ñúñez"),
        mail_from=MAIL_FROM, message_id="<1@abierto>",
    )
    raw = message.as_bytes()
    headers = raw.split(b"\n\n", 1)[0]
    assert headers.isascii()
    (address,) = email.message_from_bytes(raw, policy=email.policy.default)["To"].addresses
    assert (address.display_name, address.addr_spec) == ("José Ñúñez", "ana@example.org")


def test_line_breaks_cannot_reach_headers():
    data = fact(name="Ana\r\nBcc: intruso@example.org")
    data["event"]["title"] = "Evento\nBcc: intruso@example.org"
    message = received("registration_waitlisted", data)
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Ana Bcc: intruso@example.org"


def test_events_over_several_days_show_both_dates():
    data = fact()
    data["event"]["ends_at"] = "2024-06-01T18:00:00+00:00"
    text, _ = bodies(received("registration_confirmed", data))
    assert "viernes, 31 de mayo de 2024, 10:00 – sábado, 1 de junio de 2024, 12:00" in text


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        compose.build("registration_lost", fact(), mail_from=MAIL_FROM, message_id="<1@abierto>")


def test_invite_direct_and_input_left_untouched():
    data = fact()
    snapshot = copy.deepcopy(data)
    ics = calendar_invite.invite(data, organizer_email="abierto@example.org", method="CANCEL")
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"METHOD:CANCEL\r\n" in ics and b"STATUS:CANCELLED\r\n" in ics
    assert data == snapshot


def test_warm_up_compiles_every_template_before_the_worker_forks():
    compose.warm_up()
    env = compose.environment(KINDS_TEMPLATES)
    cached = {name for (_loader, name) in env.cache.keys()}
    assert cached >= set(env.list_templates())


@pytest.mark.parametrize("status, es, en", [
    ("confirmed", "Estado de tu registro: confirmado", "Your registration: confirmed"),
    ("waitlisted", "Estado de tu registro: en la lista de espera",
     "Your registration: on the waiting list"),
])
def test_the_repeat_email_says_what_is_held_with_the_persons_own_link(status, es, en):
    data = fact()
    data["registration"]["status"] = status
    message = received("registration_repeat", data)
    assert str(message["Subject"]).startswith("Ya estás registrado: ")
    text, html = bodies(message)
    assert es in text and en in text and es in html.replace("<strong>", "").replace("</strong>", "")
    assert CANCEL_URL in text and f'href="{CANCEL_URL}?lang=es"' in html
    assert CONFIRM_URL not in text


def test_the_repeat_of_a_pending_hold_carries_its_confirm_link():
    data = fact(kind="registration_pending")
    text, html = bodies(received("registration_repeat", data))
    assert f"Confírmalo aquí: {CONFIRM_URL}?lang=es" in text
    assert f"Confirm it here: {CONFIRM_URL}?lang=en" in text
    assert f'href="{CONFIRM_URL}?lang=es"' in html and f'href="{CONFIRM_URL}?lang=en"' in html


def test_the_pending_email_carries_the_confirm_link_and_the_deadline_in_the_events_zone():
    message = received("registration_pending")
    assert str(message["Subject"]).startswith("Confirma tu lugar: ")
    text, html = bodies(message)
    assert CONFIRM_URL in text
    assert html.count(f'href="{CONFIRM_URL}?lang=es"') == html.count(f'href="{CONFIRM_URL}?lang=en"') == 1
    # held until 18:30 UTC: 12:30 in Chihuahua (UTC-6), on that day
    assert "antes de las 12:30 del 20 de mayo de 2024 (hora de Chihuahua)" in text
    assert "before 12:30 on May 20, 2024 (Chihuahua time)" in text
    assert ics_parts(message) == []  # the invite comes with the confirmation


def test_two_people_pending_at_one_event_get_their_own_confirm_links():
    mine, theirs = fact(kind="registration_pending"), fact(kind="registration_pending",
                                                           name="Luis", registration_id=8)
    theirs["registration"].update(confirm_url=CONFIRM_URL + "-luis", cancel_url=CANCEL_URL + "-luis")
    text_mine, _ = bodies(received("registration_pending", mine))
    text_theirs, _ = bodies(received("registration_pending", theirs))
    assert CONFIRM_URL + "-luis" in text_theirs and CONFIRM_URL + "-luis" not in text_mine


def test_every_invite_carries_the_registrations_own_sequence_and_attendee():
    """One event's invite is made once: each attendee's UID, SEQUENCE and ATTENDEE go in after."""
    ana, luis = fact(), fact(name="Luis Pérez Domínguez de la Concepción y Ortega", registration_id=8)
    ana["registration"]["invite_sequence"] = 3
    luis["registration"].update(email="luis.perez.dominguez.de.la.concepcion@example.org",
                                invite_sequence=5)
    (first,), (second,) = (invite_of(received("registration_confirmed", data)).events
                           for data in (ana, luis))
    assert (str(first["UID"]), int(first["SEQUENCE"])) == ("registration-7@example.org", 3)
    assert (str(second["UID"]), int(second["SEQUENCE"])) == ("registration-8@example.org", 5)
    assert str(first["ATTENDEE"]) == "mailto:ana@example.org"
    # a long line is folded as RFC 5545 asks, and reads back whole
    assert str(second["ATTENDEE"]) == "mailto:luis.perez.dominguez.de.la.concepcion@example.org"
    assert second["ATTENDEE"].params["CN"] == "Luis Pérez Domínguez de la Concepción y Ortega"
    raw = ics_parts(received("registration_confirmed", luis))[0].get_payload(decode=True)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 75


def test_old_facts_without_a_sequence_make_sequence_zero():
    data = fact()
    data["registration"].pop("invite_sequence", None)
    assert int(invite_of(received("registration_confirmed", data)).events[0]["SEQUENCE"]) == 0


@pytest.mark.parametrize("language, title", [
    ("en", "Presentation of the Open Government Action Plan's Progress"),
    ("es", "Presentación del Cumplimiento del Plan de Acción de Gobierno Abierto"),
])
def test_the_recipients_language_titles_the_email_and_the_invite(language, title):
    data = fact(language=language)
    data["event"]["title_en"] = "Presentation of the Open Government Action Plan's Progress"
    message = received("registration_confirmed", data)
    assert message["Subject"].partition(": ")[2].startswith(title)
    assert str(invite_of(message).events[0]["SUMMARY"]) == title
    text, html = bodies(message)
    assert "Evento: Presentación del Cumplimiento" in text
    assert "Event: Presentation of the Open Government" in text


def test_english_without_an_english_title_shows_the_spanish_one():
    message = received("registration_confirmed", fact(language="en"))
    assert message["Subject"].startswith("Registration confirmed: Presentación del Cumplimiento")
    assert str(invite_of(message).events[0]["SUMMARY"]).startswith("Presentación del Cumplimiento")
    assert "Event: Presentación del Cumplimiento" in bodies(message)[0]


def test_the_online_link_is_shown_beside_the_venue_and_in_the_invite():
    data = fact()
    data["event"]["online_url"] = "https://meet.example.org/gobierno-abierto"
    message = received("registration_confirmed", data)
    text, html = bodies(message)
    assert "En línea: https://meet.example.org/gobierno-abierto" in text
    assert "Online: https://meet.example.org/gobierno-abierto" in text
    assert html.count('<a href="https://meet.example.org/gobierno-abierto"') == 2
    (event,) = invite_of(message).events
    assert "En línea: https://meet.example.org/gobierno-abierto" in str(event["DESCRIPTION"])
    assert "En línea" not in bodies(received("registration_confirmed"))[0]  # none: no line


@pytest.mark.parametrize("kind", KINDS)
def test_an_event_with_no_place_has_no_empty_place_lines(kind):
    """An online event, or one made with a title and times only: no "Lugar:" with nothing
    after it and no "Dirección: , , "; what it has is joined without stray commas."""
    data = fact(kind=kind)
    data["event"].update(venue="", address="", city="", country="",
                         online_url="https://meet.example.org/x")
    text, html = bodies(received(kind, data))
    for label in ("Lugar", "Dirección", "Venue", "Address"):  # ("- Lugar:" lists a change)
        assert f"\n{label}:" not in text
        assert f'>{label}</th><td style="padding:4px 0;">' not in html  # the details' row
    assert ", ," not in text and ", ," not in html
    data["event"].update(city="Chihuahua", country="MX")
    text, html = bodies(received(kind, data))
    assert "Dirección: Chihuahua, México" in text and "Address: Chihuahua, Mexico" in text
    assert "<td style=\"padding:4px 0;\">Chihuahua, México</td>" in html


def test_warm_up_computes_chihuahuas_zone_rules_for_this_years_and_next_years_invites():
    from shared import calendar

    calendar._vtimezone.cache_clear()
    compose.warm_up()
    computed = calendar._vtimezone.cache_info().misses
    for year in (datetime.now(timezone.utc).year, datetime.now(timezone.utc).year + 1):
        data = fact()
        data["event"].update(starts_at=f"{year}-05-31T22:00:00+00:00",
                             ends_at=f"{year}-06-01T00:00:00+00:00", timezone="America/Chihuahua")
        assert b"TZID:America/Chihuahua" in calendar_invite.invite(
            data, organizer_email="abierto@example.org", method="REQUEST")
    assert calendar._vtimezone.cache_info().misses == computed  # none computed again
