"""The .ics attached to registration emails, so the event lands in the attendee's calendar."""
import functools
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from shared import calendar

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
    return calendar.ics(calendar.Entry(
        uid=_UID, stamp=_DTSTAMP,
        start=datetime.fromisoformat(event["starts_at"]).astimezone(zone),
        end=datetime.fromisoformat(event["ends_at"]).astimezone(zone),
        summary=event["title"],
        location=", ".join(event[key] for key in ("venue", "address", "city")),
        description=f"{event['host_organization']}\n{event['url']}", url=event["url"],
        organizer=(organizer_email, event["host_organization"]),
        cancelled=cancelled, sequence=1 if cancelled else 0,
    ), method="CANCEL" if cancelled else "PUBLISH")
