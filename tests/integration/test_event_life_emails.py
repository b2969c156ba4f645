"""The event's life on the real path: facts made by registration's own builder (and so checked
by the published schema) go through a real Redis, the consumer and handlers, deliveries in a
real database (SQLite and PostgreSQL), the worker's task and a real SMTP server. Each attendee
gets one email; the invite moves a confirmed attendee's calendar entry, and the QR code in a
reminder opens the door."""
import io
from datetime import datetime, timedelta, timezone

import icalendar
import zxingcpp
from PIL import Image

from services.registration import checkin_codes, facts, published
from services.registration.models import Event, Registration
from services.notifications.pipeline import consumer, tasks
from shared import signing
from tests.integration.test_consumer import bus  # noqa: F401 (fixture)
from tests.integration.test_consumer import pending, read_all
from tests.integration.test_consumer import published as on_stream

NOW = datetime(2031, 5, 20, 12, tzinfo=timezone.utc)
STARTS = datetime(2031, 6, 1, 17, tzinfo=timezone.utc)  # moved from 2031-05-31 16:00 UTC
KEYS = signing.Keys("event-life-test-secret")
LINKS = facts.Links("http://abierto.test", KEYS)
CHANGES = {"starts_at": {"old": "2031-05-31T16:00:00+00:00", "new": STARTS.isoformat()},
           "ends_at": {"old": "2031-05-31T18:00:00+00:00",
                       "new": (STARTS + timedelta(hours=2)).isoformat()},
           "venue": {"old": "Salón del Séptimo piso", "new": "Sala de Cabildo"}}


def event():
    """The event as registration holds it after the move (a row not saved anywhere)."""
    return Event(id=1, title="Presentación del Plan de Acción", title_en="Action Plan Presentation",
                 status="rescheduled", starts_at=STARTS, ends_at=STARTS + timedelta(hours=2),
                 timezone="America/Chihuahua", venue="Sala de Cabildo",
                 address="Calle Victoria No.4", online_url="", city="Chihuahua", country="MX",
                 host_organization="Municipio de Chihuahua", related_commitments=[])


def attendee(registration_id, status, language="es", sequence=1):
    held = NOW + timedelta(hours=2) if status == "pending" else None
    return Registration(id=registration_id, event_id=1, name=f"Persona {registration_id}",
                        email=f"p{registration_id}@example.org", language=language,
                        status=status, invite_sequence=sequence, held_until=held)


def fact(type_, registration, **extra):
    made = facts.registration_fact(type_, registration, event(), LINKS, NOW, **extra)
    schema = {"registration.event_changed": published.EventChangedFact,
              "registration.reminder": published.ReminderFact,
              "registration.cancelled": published.RegistrationCancelledFact,
              "registration.repeated": published.RegistrationFact}[type_]
    assert schema().validate(made["data"]) == {}  # what the consumer's side checks too
    return made


def send(bus, envelopes, notifications):
    """Publish, consume as the consumer does, and send what it queued; the outcomes."""
    stream = on_stream(bus, envelopes)
    queued = []
    consumer.process(bus, read_all(bus, stream), notifications, enqueue=queued.extend)
    assert pending(bus, stream) == 0
    return tasks.send_deliveries(queued)


def invites(message):
    return [icalendar.Calendar.from_ical(part.get_payload(decode=True))
            for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]


def test_a_change_reaches_each_attendee_once_and_moves_the_confirmed_ones_entry(
        worker, notifications, bus, smtp):
    inbox, _ = smtp
    changed = [fact("registration.event_changed", attendee(7, "confirmed", sequence=1),
                    changes=CHANGES),
               fact("registration.event_changed", attendee(8, "waitlisted", "en"), changes=CHANGES),
               fact("registration.event_changed", attendee(9, "pending"), changes=CHANGES)]
    assert send(bus, changed, notifications) == ["sent", "sent", "sent"]
    assert send(bus, changed, notifications) == []  # the same facts again: nothing more

    (confirmed,) = inbox.to("p7@example.org")
    assert str(confirmed["Subject"]).startswith("Cambios en el evento: Presentación del Plan")
    text = confirmed.get_body(("plain",)).get_content()
    assert "- Lugar: Salón del Séptimo piso → Sala de Cabildo" in text
    assert ("- Fecha y hora: sábado, 31 de mayo de 2031, 10:00–12:00 → "
            "domingo, 1 de junio de 2031, 11:00–13:00 (hora de Chihuahua)") in text
    (invite,) = invites(confirmed)
    (entry,) = invite.events
    assert str(invite["METHOD"]) == "REQUEST"
    # registration's address is 127.0.0.1 here: the UID is made under MAIL_FROM's domain
    assert (str(entry["UID"]), int(entry["SEQUENCE"])) == ("registration-7@abierto.test", 1)
    assert str(entry["ATTENDEE"]) == "mailto:p7@example.org"
    assert entry.start.astimezone(timezone.utc) == STARTS

    (waiting,) = inbox.to("p8@example.org")
    assert str(waiting["Subject"]).startswith("The event has changed: Action Plan Presentation")
    assert invites(waiting) == []  # no seat, no calendar entry
    (holding,) = inbox.to("p9@example.org")
    assert invites(holding) == []
    assert "http://abierto.test/registrations/confirm/" in holding.get_body(("plain",)).get_content()
    assert len(inbox.messages) == 3


def test_the_reminders_qr_code_is_the_registrations_own_check_in_token(
        worker, notifications, bus, smtp):
    inbox, _ = smtp
    reminder = {"offset": "PT2H", "due_at": (STARTS - timedelta(hours=2)).isoformat()}
    assert send(bus, [fact("registration.reminder", attendee(7, "confirmed", sequence=1),
                           reminder=reminder)], notifications) == ["sent"]
    (message,) = inbox.to("p7@example.org")
    assert str(message["Subject"]).startswith("En 2 horas: Presentación del Plan")
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    (read,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_payload(decode=True))))
    assert read.text == checkin_codes.token(KEYS, 1, 7)
    checkin_codes.verify(KEYS, checkin_codes.read(read.text), 1)  # the door accepts it
    code = checkin_codes.code(KEYS, 1, 7)
    assert f"Código de registro: {code}" in message.get_body(("plain",)).get_content()
    (invite,) = invites(message)
    assert str(invite["METHOD"]) == "REQUEST" and int(invite.events[0]["SEQUENCE"]) == 1


def test_a_cancellation_withdraws_an_invite_only_from_who_was_sent_one(
        worker, notifications, bus, smtp):
    """A confirmed seat was sent a REQUEST (confirmed, promoted): its cancellation carries the
    CANCEL; someone waiting or holding an unconfirmed seat never had an entry to remove."""
    inbox, _ = smtp
    cancelled = [fact("registration.cancelled", attendee(n, "cancelled", sequence=2),
                      cancelled_from=was)
                 for n, was in ((7, "confirmed"), (8, "waitlisted"), (9, "pending"))]
    assert send(bus, cancelled, notifications) == ["sent", "sent", "sent"]
    (seated,) = inbox.to("p7@example.org")
    (invite,) = invites(seated)
    assert str(invite["METHOD"]) == "CANCEL"
    assert (str(invite.events[0]["UID"]), int(invite.events[0]["SEQUENCE"])) == (
        "registration-7@abierto.test", 2)
    for address in ("p8@example.org", "p9@example.org"):
        (message,) = inbox.to(address)
        assert invites(message) == [] and not list(message.iter_attachments())
        assert "Registro cancelado" in str(message["Subject"])
        assert ".ics" not in message.get_body(("plain",)).get_content()


def test_asking_again_with_a_seat_brings_the_qr_code_again(worker, notifications, bus, smtp):
    """"Ya estás registrado": a confirmed person gets what opens the door, as in their
    confirmation; one waiting gets their place, and no code."""
    inbox, _ = smtp
    again = [fact("registration.repeated", attendee(7, "confirmed")),
             fact("registration.repeated", attendee(8, "waitlisted", "en"))]
    assert send(bus, again, notifications) == ["sent", "sent"]
    (seated,) = inbox.to("p7@example.org")
    assert str(seated["Subject"]).startswith("Ya estás registrado")
    (image,) = [part for part in seated.walk() if part.get_content_type() == "image/png"]
    (read,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_payload(decode=True))))
    assert read.text == checkin_codes.token(KEYS, 1, 7)
    text = seated.get_body(("plain",)).get_content()
    assert f"Código de registro: {checkin_codes.code(KEYS, 1, 7)}" in text
    (waiting,) = inbox.to("p8@example.org")
    assert not [part for part in waiting.walk() if part.get_content_type() == "image/png"]
    assert "Check-in code" not in waiting.get_body(("plain",)).get_content()
