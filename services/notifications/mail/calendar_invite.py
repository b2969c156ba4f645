"""The .ics attached to registration emails, so the event lands in the attendee's calendar.

Every invite about one registration is an iTIP message (RFC 5546) about one calendar entry:
its UID is the registration's, and its SEQUENCE the registration's `invite_sequence`, which
registration raises with each change it tells the attendee of. A REQUEST adds the entry or
moves it (calendars apply it only above the SEQUENCE they hold), a CANCEL removes it.
"""
import functools
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from services.notifications.mail.kind import CANCEL, REQUEST
from services.notifications.mail.registration_email import event_page, title
from shared import wording
from shared import calendar

# Stand in for what differs between two attendees of one event, in an invite serialised
# once per event: the entry's UID, SEQUENCE and ATTENDEE and its time stamp. Short ASCII,
# so no line folds there.
_UID = "abierto-invite-uid"
_DTSTAMP = datetime(2000, 1, 1, tzinfo=timezone.utc)
_SEQUENCE = 987654321
_ATTENDEE = "abierto-invite-attendee@invalid"
_ICAL_UTC = "%Y%m%dT%H%M%SZ"
_UID_LINE, _DTSTAMP_LINE = f"UID:{_UID}\r\n".encode(), f"DTSTAMP:{_DTSTAMP:{_ICAL_UTC}}".encode()
_SEQUENCE_LINE = f"SEQUENCE:{_SEQUENCE}\r\n".encode()
_ATTENDEE_LINE = calendar.attendee_line(_ATTENDEE)
ONLINE = {"es": "En línea", "en": "Online"}
PAGE = {"es": "Página del evento", "en": "Event page"}
DESCRIPTION_SHOWN = 500  # characters: calendars show a few lines; the page has the rest


def _description(event, language):
    """The event's description in `language` (English falls back to the Spanish), shortened."""
    text = (language == "en" and event.get("description_en")) or event.get("description") or ""
    return wording.shorten(text, DESCRIPTION_SHOWN)


def invite(data: dict, *, organizer_email: str, method: str = REQUEST,
           uid_domain: str | None = None) -> bytes:
    """One VEVENT for one registration, in its attendee's language; `method` CANCEL tells
    calendars to remove it. `uid_domain` (shared.calendar.uid_domain) makes the UID; by
    default the organiser's mail domain."""
    registration = data["registration"]
    shared = _event_invite(json.dumps(data["event"], sort_keys=True),
                           registration.get("language", "es"), organizer_email, method)
    # One UID per registration, so a later REQUEST or CANCEL finds exactly the entry we added.
    uid = calendar.registration_uid(
        registration["id"], uid_domain or calendar.uid_domain("", organizer_email))
    stamp = f"DTSTAMP:{datetime.now(timezone.utc):{_ICAL_UTC}}"
    sequence = f"SEQUENCE:{int(registration.get('invite_sequence') or 0)}\r\n"
    attendee = calendar.attendee_line(registration["email"], " ".join(registration["name"].split()))
    return (shared.replace(_UID_LINE, f"UID:{uid}\r\n".encode())
            .replace(_DTSTAMP_LINE, stamp.encode())
            .replace(_SEQUENCE_LINE, sequence.encode())
            .replace(_ATTENDEE_LINE, attendee))


@functools.lru_cache(maxsize=64)
def _event_invite(event_json, language, organizer_email, method):
    """The invite as every attendee of an event who reads `language` gets it, but for the
    stand-ins: serialising it costs more than the rest of the email, and it is the same for all."""
    event = json.loads(event_json)
    zone = ZoneInfo(event["timezone"])
    page = event_page(event, language)
    description = [text for text in (_description(event, language), event["host_organization"])
                   if text]
    if event.get("online_url"):
        description.append(f"{ONLINE[language]}: {event['online_url']}")
    description.append(f"{PAGE[language]}: {page}")
    return calendar.ics(calendar.Entry(
        uid=_UID, stamp=_DTSTAMP,
        start=datetime.fromisoformat(event["starts_at"]).astimezone(zone),
        end=datetime.fromisoformat(event["ends_at"]).astimezone(zone),
        summary=title(event, language),
        location=(", ".join(event[key] for key in ("venue", "address", "city") if event.get(key))
                  or event.get("online_url", "")),
        description="\n\n".join(description), url=page,
        organizer=(organizer_email, event["host_organization"]),
        attendee=(_ATTENDEE, None),
        cancelled=method == CANCEL, sequence=_SEQUENCE,
    ), method=method)
