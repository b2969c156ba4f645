"""What people and other sites subscribe to: the events as a calendar feed (.ics), as a map
layer (GeoJSON, RFC 7946), and in the columns of the Open Government Week event form. The
events are read once (`listed`); the rest is pure and speaks the reader's language."""
import csv
import io
from dataclasses import dataclass
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

from babel import Locale
from sqlalchemy import select

from services.registration.models import Event
from services.registration import page_content
from services.registration.page_content import place
from shared import calendar

RECENT = timedelta(days=90)  # ended events stay in the feeds this long, then drop off
REFRESH = timedelta(hours=1)  # how often calendar apps should read the feed again
NAMES = {"es": "Eventos de Gobierno Abierto", "en": "Open Government events"}
# Open Gov Week's categories are OGP's ten Open Gov Challenge areas, optionally followed by
# the kind of event ("Access to Information — Seminar/Panel"); a category that does not
# start with one is left blank rather than guessed.
CHALLENGE_AREAS = ("Access to Information", "Anti-Corruption", "Civic Space",
                   "Climate and Environment", "Digital Governance", "Fiscal Openness",
                   "Gender and Inclusion", "Justice", "Media Freedom", "Public Participation")
OPEN_GOV_WEEK_COLUMNS = ("title", "description", "category", "start", "end", "time_zone",
                         "online_or_in_person", "country", "city", "organiser", "partners",
                         "website")


@dataclass(frozen=True)
class Site:
    """Where the events are read: their pages' address, and the domain their UIDs are under
    (shared.calendar.uid_domain, as the event page's download and the invites)."""

    base_url: str
    uid_domain: str

    def page(self, event, language="es"):
        return f"{self.base_url}/events/{event.id}" + ("?lang=en" if language == "en" else "")


def listed(db, now, recent=RECENT):
    """Every event that has not ended, and those that ended within `recent`, by start."""
    query = (select(Event).where(Event.ends_at > now - recent)
             .order_by(Event.starts_at, Event.id))
    with db.transaction() as session:
        return list(session.scalars(query))


def every_event(db):
    """Every event that still takes place or took place (not cancelled), by start."""
    query = select(Event).where(Event.status != "cancelled").order_by(Event.starts_at, Event.id)
    with db.transaction() as session:
        return list(session.scalars(query))


def text(event, name, language):
    return page_content.text(event, name, language) or ""


def ics(events, site, language):
    """The calendar feed: one entry per event under a UID that never changes
    (`event-<id>@<host>`), cancelled ones kept as STATUS:CANCELLED so calendars strike them
    out rather than silently lose them, postponed ones TENTATIVE. DTSTAMP is when the event
    last changed (RFC 5545 for a calendar without METHOD), so the file, and its ETag, only
    change when an event does."""
    entries = [calendar.Entry(
        uid=f"event-{event.id}@{site.uid_domain}", stamp=event.updated_at.astimezone(timezone.utc),
        start=event.starts_at.astimezone(timezone.utc), end=event.ends_at.astimezone(timezone.utc),
        summary=text(event, "title", language),
        location=_location(event), description=text(event, "description", language) or None,
        url=site.page(event, language), cancelled=event.status == "cancelled",
        tentative=event.status == "postponed") for event in events]
    return calendar.feed(entries, NAMES[language], REFRESH)


def geojson(events, site, language):
    """A FeatureCollection (RFC 7946) of the events that have coordinates: a Point at
    [longitude, latitude] in WGS 84, and what a map's popup shows."""
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": event.id,
        "geometry": {"type": "Point",
                     "coordinates": [round(event.longitude, 6), round(event.latitude, 6)]},
        "properties": {
            "title": text(event, "title", language), "start": _local(event.starts_at, event),
            "end": _local(event.ends_at, event), "timezone": event.timezone,
            "url": site.page(event, language), "status": event.status,
            "venue": place(event), "online_url": event.online_url or None,
        }} for event in events if event.latitude is not None and event.longitude is not None]}


def open_gov_week(events, site, language):
    """One row per event in the Open Gov Week event form's fields (OPEN_GOV_WEEK_COLUMNS)."""
    return [{
        "title": text(event, "title", language),
        "description": text(event, "description", language),
        "category": ogp_category(event.category),
        "start": _local(event.starts_at, event), "end": _local(event.ends_at, event),
        "time_zone": event.timezone,
        "online_or_in_person": attendance_mode(event),
        "country": Locale("en").territories.get(event.country, "") if event.country else "",
        "city": event.city, "organiser": event.host_organization,
        "partners": list(event.partners or ()), "website": site.page(event, language),
    } for event in events]


def open_gov_week_csv(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(OPEN_GOV_WEEK_COLUMNS)
    for row in rows:
        cells = {**row, "partners": "; ".join(row["partners"])}
        writer.writerow([_safe_cell(cells[column]) for column in OPEN_GOV_WEEK_COLUMNS])
    return out.getvalue()


def ogp_category(category):
    """The category as OGP lists it, when it starts with one of the ten areas; else ""."""
    area = (category or "").split("—")[0].strip()
    match = next((known for known in CHALLENGE_AREAS if known.lower() == area.lower()), None)
    return category.replace(area, match, 1).strip() if match else ""


def attendance_mode(event):
    in_person, online = bool(event.venue or event.address), bool(event.online_url)
    if online and in_person:
        return "Online and in person"
    return "Online" if online else "In person"


def _location(event):
    """Where to go: the place, or for an event only online, its link."""
    return event.online_url if attendance_mode(event) == "Online" else place(event)


def _local(moment, event):
    """ISO 8601 in the event's own zone, with its offset, as people there read it."""
    return moment.astimezone(ZoneInfo(event.timezone)).isoformat()


def _safe_cell(value):
    # A leading = + - @ makes spreadsheets run the cell as a formula.
    text_ = str(value)
    return "'" + text_ if text_[:1] in ("=", "+", "-", "@", "\t", "\r") else text_
