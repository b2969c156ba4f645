"""Calendar files (RFC 5545): one event's (the events page's download, the invite an
attendee's email carries) and the feed of every event people subscribe to are made here,
so calendars see one producer."""
import email.utils
import functools
import ipaddress
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vDuration
from icalendar.parser import Contentline

PRODID = "-//Abierto//Gobierno Abierto//ES"


@functools.lru_cache(maxsize=8)  # two settings; the worker asks once per invite
def uid_domain(public_url, mail_from):
    """The domain a deployment's calendar UIDs are made under, so they are unique in the
    world (RFC 5545 3.8.4.7): the host people reach the events at (registration's
    PUBLIC_BASE_URL), or, when that is an address or localhost, MAIL_FROM's domain.
    Changing it changes every UID: entries already in calendars would not be updated."""
    host = (urlsplit(public_url).hostname or "").lower()
    if host and host != "localhost" and not _is_address(host):
        return host
    return email.utils.parseaddr(mail_from)[1].rpartition("@")[2].lower() or host or "abierto"


def registration_uid(registration_id, domain):
    """The UID of one registration's calendar entry: every invite about it (REQUEST, CANCEL)
    and the attendee page's .ics name the same entry."""
    return f"registration-{int(registration_id)}@{domain}"


def _is_address(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Entry:
    """One VEVENT. Times in a named zone (a ZoneInfo) bring that zone's rules along;
    times in UTC need none."""

    uid: str
    stamp: datetime
    start: datetime
    end: datetime
    summary: str
    location: str
    description: str | None = None
    url: str | None = None
    organizer: tuple | None = None  # (email, name)
    attendee: tuple | None = None  # (email, name): the one person the invite is for
    cancelled: bool | None = None  # None: no STATUS; else CONFIRMED or CANCELLED
    tentative: bool = False  # STATUS:TENTATIVE (postponed: no date yet), unless cancelled
    sequence: int | None = None  # calendars apply an update only above the SEQUENCE they hold


def ics(entry, method=None):
    """A one-event calendar file; `method` (PUBLISH, REQUEST, CANCEL) makes it an iTIP message."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    calendar.add_component(_vevent(entry))
    if isinstance(entry.start.tzinfo, ZoneInfo):
        calendar.add_component(_vtimezone(entry.start.tzinfo.key, entry.start.year, entry.end.year))
    return calendar.to_ical()


def feed(entries, name, refresh, description=None):
    """A calendar people subscribe to (webcal://): every entry, no METHOD (it is published,
    not an invitation), its name, and how often apps should read it again (`refresh`, a
    timedelta: RFC 7986's REFRESH-INTERVAL and the X-PUBLISHED-TTL older apps read).
    Times should be in UTC: a feed of many zones then needs no VTIMEZONE."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    if description:
        calendar.add("x-wr-caldesc", description)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))  # an X- property: typed by hand
    for entry in entries:
        calendar.add_component(_vevent(entry))
    return calendar.to_ical()


def _vevent(entry):
    """One entry as a VEVENT."""
    vevent = Event()
    vevent.add("uid", entry.uid)
    vevent.add("dtstamp", entry.stamp)
    vevent.add("dtstart", entry.start)
    vevent.add("dtend", entry.end)
    vevent.add("summary", entry.summary)
    vevent.add("location", entry.location)
    if entry.description:
        vevent.add("description", entry.description)
    if entry.url:
        vevent.add("url", entry.url)
    if entry.organizer:
        address, name = entry.organizer
        organizer = vCalAddress(f"mailto:{address}")
        organizer.params["cn"] = name
        vevent.add("organizer", organizer)
    if entry.attendee:
        vevent.add("attendee", _attendee(*entry.attendee))
    if entry.cancelled:
        vevent.add("status", "CANCELLED")
    elif entry.tentative:
        vevent.add("status", "TENTATIVE")
    elif entry.cancelled is not None:
        vevent.add("status", "CONFIRMED")
    if entry.sequence is not None:
        vevent.add("sequence", entry.sequence)
    return vevent


def attendee_line(address, name=None):
    """The ATTENDEE line `ics` writes for (address, name), folded and ended as in the file:
    an invite made once for many people can have each one's put in its place."""
    attendee = _attendee(address, name)
    return folded(Contentline.from_parts("ATTENDEE", attendee.params, attendee)) + b"\r\n"


FOLD_AT = 74  # octets per line, the fold's leading space aside: under RFC 5545's 75


def folded(line):
    """A content line folded as icalendar folds it (Contentline.to_ical), the same bytes:
    as many whole characters as fit in 74 octets to a line. icalendar weighs each
    character in Python, a tenth of an email's building for its one ATTENDEE line; it
    also keeps a backslash or caret escape whole, so lines with those stay with it."""
    if "\\" in line or "^" in line:
        return line.to_ical()
    data, lines, start = line.encode("utf-8"), [], 0
    while len(data) - start > FOLD_AT:
        end = start + FOLD_AT
        while data[end] & 0xC0 == 0x80:  # inside a character: fold before it
            end -= 1
        lines.append(data[start:end])
        start = end
    lines.append(data[start:])
    return b"\r\n ".join(lines)


def _attendee(address, name):
    """A registered person: they asked for the seat, so they have accepted; no reply wanted."""
    attendee = vCalAddress(f"mailto:{address}")
    if name:
        attendee.params["cn"] = name
    attendee.params["partstat"] = "ACCEPTED"
    attendee.params["rsvp"] = "FALSE"
    return attendee


def warm_up(tzid, today):
    """Compute `tzid`'s rules for events of this year and of the next ahead: about 25 ms of
    CPU each, which a worker spends before it forks its pool rather than in each process."""
    for year in (today.year, today.year + 1):
        _vtimezone(tzid, year, year)


@functools.lru_cache(maxsize=64)
def _vtimezone(tzid, first_year, last_year):
    """The zone's rules for the event's years only: small but exact. Computing them costs
    more than the rest of an email, and they are the same for every attendee."""
    return Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1),
                              last_date=date(last_year + 1, 1, 1))
