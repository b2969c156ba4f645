"""The .ics (RFC 5545) attached to registration emails, so the event lands in a calendar."""
import functools
import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress

PRODID = "-//Abierto//Gobierno Abierto//ES"
# Stand in for what differs between two attendees of one event, in an invite serialised
# once per event: the entry's UID and its time stamp. Short ASCII, so no line folds there.
_UID = "abierto-invite-uid"
_DTSTAMP = datetime(2000, 1, 1, tzinfo=timezone.utc)
_ICAL_UTC = "%Y%m%dT%H%M%SZ"
_UID_LINE, _DTSTAMP_LINE = f"UID:{_UID}\r\n".encode(), f"DTSTAMP:{_DTSTAMP:{_ICAL_UTC}}".encode()


def invite(data: dict, *, organizer_email: str, cancelled: bool = False) -> bytes:
    """One VEVENT for one registration; `cancelled` tells calendars to remove it."""
    shared = _event_invite(json.dumps(data["event"], sort_keys=True), organizer_email, cancelled)
    # One UID per registration, so a later CANCEL removes exactly the entry we added.
    uid = f"registration-{data['registration']['id']}@abierto"
    stamp = f"DTSTAMP:{datetime.now(timezone.utc):{_ICAL_UTC}}"
    return (shared.replace(_UID_LINE, f"UID:{uid}\r\n".encode())
            .replace(_DTSTAMP_LINE, stamp.encode()))


@functools.lru_cache(maxsize=64)
def _event_invite(event_json, organizer_email, cancelled):
    """The invite as every attendee of an event gets it, but for UID and DTSTAMP:
    serialising it costs more than the rest of the email, and it is the same for all."""
    event = json.loads(event_json)
    zone = ZoneInfo(event["timezone"])
    start = datetime.fromisoformat(event["starts_at"]).astimezone(zone)
    end = datetime.fromisoformat(event["ends_at"]).astimezone(zone)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")

    vevent = Event()
    vevent.add("uid", _UID)
    vevent.add("dtstamp", _DTSTAMP)
    vevent.add("dtstart", start)
    vevent.add("dtend", end)
    vevent.add("summary", event["title"])
    vevent.add("location", ", ".join(event[key] for key in ("venue", "address", "city")))
    vevent.add("description", f"{event['host_organization']}\n{event['url']}")
    vevent.add("url", event["url"])
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = event["host_organization"]
    vevent.add("organizer", organizer)
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # Calendars only apply an update whose SEQUENCE is higher than the one they hold.
    vevent.add("sequence", 1 if cancelled else 0)
    calendar.add_component(vevent)

    calendar.add_component(_vtimezone(event["timezone"], start.year, end.year))
    return calendar.to_ical()


@functools.lru_cache(maxsize=64)
def _vtimezone(tzid, first_year, last_year):
    """The zone's rules for the event's years only: small but exact. Computing them costs
    more than the rest of an email (≈13 ms), and they are the same for every attendee."""
    return Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1),
                              last_date=date(last_year + 1, 1, 1))
