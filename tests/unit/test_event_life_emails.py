"""What an attendee reads when the event changes, is cancelled or postponed, or is near: the
change old → new in their language and the event's zone, the organiser's reason, the invite
that moves or removes their calendar entry (only if they hold a seat), the reminder's words."""
from datetime import datetime, timezone

import pytest

from services.notifications.mail import kinds
from services.notifications.mail.kinds.reminder import soon
from shared import durations
from tests.unit.test_emails import (CANCEL_URL, CONFIRM_URL, bodies, fact, ics_parts, invite_of,
                                    received)

LIFE = {"event_changed": "registration.event_changed",
        "event_cancelled": "registration.event_cancelled",
        "event_postponed": "registration.event_postponed",
        "reminder": "registration.reminder"}
SUBJECTS = {  # (Spanish first, English first)
    "event_changed": ("Cambios en el evento: Presentación", "The event has changed: Presentation"),
    "event_cancelled": ("Evento cancelado: Presentación", "Event cancelled: Presentation"),
    "event_postponed": ("Evento pospuesto: Presentación", "Event postponed: Presentation"),
    "reminder": ("Mañana: Presentación", "Tomorrow: Presentation"),
}
MOVED = {  # a day later and an hour later, in a new room with an online link
    "starts_at": {"old": "2024-05-31T16:00:00+00:00", "new": "2024-06-01T17:00:00+00:00"},
    "ends_at": {"old": "2024-05-31T18:00:00+00:00", "new": "2024-06-01T19:00:00+00:00"},
    "venue": {"old": "Salón del Séptimo piso", "new": "Sala de Cabildo"},
    "online_url": {"old": "", "new": "https://meet.example.org/gobierno-abierto"},
}


def life(kind, status="confirmed", language="es", sequence=2, **extra):
    """A fact of the event's life about one attendee; `event_changed`'s is MOVED, applied."""
    data = fact(language=language, kind=kind)
    data["event"]["title_en"] = "Presentation of the Open Government Action Plan's Progress"
    data["registration"].update(status=status, invite_sequence=sequence)
    if status == "pending":
        data["registration"].update(confirm_url=CONFIRM_URL, held_until="2024-05-20T18:30:00+00:00")
    if kind == "event_changed":
        data["changes"] = MOVED
        data["event"].update({field: change["new"] for field, change in MOVED.items()})
    data.update(extra)
    return data


@pytest.mark.parametrize("kind, event_type", LIFE.items())
def test_each_fact_makes_its_email_which_goes_even_to_who_opposed(kind, event_type):
    assert [found.name for found in kinds.for_event(event_type)] == [kind]
    assert kinds.get(kind).essential and not kinds.get(kind).anonymous


@pytest.mark.parametrize("kind", LIFE)
@pytest.mark.parametrize("language", ["es", "en"])
def test_subject_in_the_recipients_language_with_their_title(kind, language):
    subject = received(kind, life(kind, language=language))["Subject"]
    spanish, english = SUBJECTS[kind]
    assert subject.startswith(spanish if language == "es" else english)
    assert subject.endswith(" / " + (english if language == "es" else spanish).split(":")[0])


def test_a_change_lists_each_field_old_to_new_in_the_events_zone():
    text, html = bodies(received("event_changed", life("event_changed")))
    assert ("- Fecha y hora: viernes, 31 de mayo de 2024, 10:00–12:00 → "
            "sábado, 1 de junio de 2024, 11:00–13:00 (hora de Chihuahua)") in text
    assert ("- When: Friday, May 31, 2024, 10:00\xa0AM – 12:00\xa0PM → "  # CLDR's no-break spaces
            "Saturday, June 1, 2024, 11:00\xa0AM – 1:00\xa0PM (Chihuahua time)") in text
    assert "- Lugar: Salón del Séptimo piso → Sala de Cabildo" in text
    assert "- Venue: Salón del Séptimo piso → Sala de Cabildo" in text
    assert "- En línea: sin enlace → https://meet.example.org/gobierno-abierto" in text
    assert "- Online: no link → https://meet.example.org/gobierno-abierto" in text
    assert "Dirección:" not in text.split("Evento:")[0]  # the address did not change
    # below, the event as it is now
    assert "Fecha y hora: sábado, 1 de junio de 2024, 11:00–13:00 (hora de Chihuahua" in text
    assert "Lugar: Sala de Cabildo" in text
    assert '<th scope="col" style="text-align:left;padding:4px 12px 4px 0;">Antes</th>' in html
    assert html.count('<a href="https://meet.example.org/gobierno-abierto"') == 4  # change + table, twice
    assert f"cancela tu registro aquí: {CANCEL_URL}?lang=es" in text


def test_a_field_that_came_back_to_what_it_was_is_not_listed():
    data = life("event_changed")
    data["changes"] = {**MOVED, "venue": {"old": "Sala de Cabildo", "new": "Sala de Cabildo"}}
    text, _ = bodies(received("event_changed", data))
    assert "- Lugar:" not in text and "- Fecha y hora:" in text


def test_a_moved_entry_is_a_request_with_the_same_uid_and_the_next_sequence():
    invite = invite_of(received("event_changed", life("event_changed", sequence=2)))
    (event,) = invite.events
    assert str(invite["METHOD"]) == "REQUEST"
    assert (str(event["UID"]), int(event["SEQUENCE"])) == ("registration-7@example.org", 2)
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.start.astimezone(timezone.utc) == datetime(2024, 6, 1, 17, tzinfo=timezone.utc)
    assert str(event["LOCATION"]).startswith("Sala de Cabildo, ")
    assert str(event["ATTENDEE"]) == "mailto:ana@example.org"
    assert str(event["SUMMARY"]).startswith("Presentación del Cumplimiento")


@pytest.mark.parametrize("status, es, en", [
    ("waitlisted", "Sigues en la lista de espera", "You are still on the waiting list"),
    ("pending", f"confírmalo antes de las 12:30 del 20 de mayo de 2024 (hora de Chihuahua):\n{CONFIRM_URL}?lang=es",
     f"confirm it before 12:30 on May 20, 2024 (Chihuahua time):\n{CONFIRM_URL}?lang=en"),
])
def test_who_holds_no_seat_hears_of_the_change_without_an_invite(status, es, en):
    message = received("event_changed", life("event_changed", status=status))
    assert ics_parts(message) == []
    text, html = bodies(message)
    assert es in text and en in text
    assert "evento.ics" not in text and "evento.ics" not in html


@pytest.mark.parametrize("language, first, second", [
    ("es", "Motivo: Lluvia intensa", "Reason: Heavy rain"),
    ("en", "Reason: Heavy rain", "Motivo: Lluvia intensa"),
])
def test_a_cancelled_event_gives_the_reason_and_removes_the_entry(language, first, second):
    message = received("event_cancelled", life("event_cancelled", language=language, sequence=4))
    text, html = bodies(message)
    assert text.index(first) < text.index(second)
    assert "<strong>Motivo:</strong> Lluvia intensa" in html
    assert CANCEL_URL not in text and CANCEL_URL not in html  # nothing left to cancel
    invite = invite_of(message)
    (event,) = invite.events
    assert str(invite["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert (str(event["UID"]), int(event["SEQUENCE"])) == ("registration-7@example.org", 4)
    assert str(event["ATTENDEE"]) == "mailto:ana@example.org"


def test_a_reason_without_english_is_given_in_spanish_to_both():
    data = life("event_cancelled", reason={"es": "Lluvia intensa", "en": None})
    text, _ = bodies(received("event_cancelled", data))
    assert "Motivo: Lluvia intensa" in text and "Reason: Lluvia intensa" in text


@pytest.mark.parametrize("status", ["waitlisted", "pending"])
def test_a_cancelled_event_sends_no_cancel_to_who_got_no_invite(status):
    message = received("event_cancelled", life("event_cancelled", status=status))
    assert ics_parts(message) == []
    assert "Motivo: Lluvia intensa" in bodies(message)[0]


def test_a_postponed_event_keeps_the_entry_and_says_a_date_will_come():
    message = received("event_postponed", life("event_postponed"))
    assert ics_parts(message) == []
    text, html = bodies(message)
    assert "Motivo: Lluvia intensa" in text and "Reason: Heavy rain" in text
    assert "Cuando haya fecha nueva te escribiremos" in text
    assert "When there is a new date we will email you" in text
    assert "Fecha y hora: por definir (antes: viernes, 31 de mayo de 2024, 10:00–12:00" in text
    assert f"cancela tu registro aquí: {CANCEL_URL}?lang=es" in text  # still theirs to cancel


def test_a_reminder_carries_the_entry_as_it_stands():
    message = received("reminder", life("reminder", sequence=3))
    text, _ = bodies(message)
    assert "Te recordamos que este evento empieza mañana." in text
    assert "A reminder: this event starts tomorrow." in text
    invite = invite_of(message)
    (event,) = invite.events
    assert str(invite["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 3
    assert str(event["UID"]) == "registration-7@example.org"


@pytest.mark.parametrize("offset, es, en", [
    ("PT2H", "En 2 horas: ", "In 2 hours: "),
    ("PT90M", "En 90 minutos: ", "In 90 minutes: "),
    ("P3D", "En 3 días: ", "In 3 days: "),
])
def test_a_reminder_says_how_soon_in_words(offset, es, en):
    for language, start in (("es", es), ("en", en)):
        data = life("reminder", language=language,
                    reminder={"offset": offset, "due_at": "2024-05-31T14:00:00+00:00"})
        assert received("reminder", data)["Subject"].startswith(start)


def test_an_offset_it_cannot_read_is_worded_from_the_due_time():
    data = life("reminder", reminder={"offset": "soon", "due_at": "2024-05-31T15:00:00+00:00"})
    assert "empieza en 1 hora" in bodies(received("reminder", data))[0]


@pytest.mark.parametrize("offset, es, en", [
    ("P1D", "mañana", "tomorrow"), ("PT1H", "en 1 hora", "in 1 hour"),
    ("PT15S", "en 15 segundos", "in 15 seconds"), ("P1DT12H", "en 36 horas", "in 36 hours"),
])
def test_soon(offset, es, en):
    assert (soon(durations.parse(offset), "es"), soon(durations.parse(offset), "en")) == (es, en)
