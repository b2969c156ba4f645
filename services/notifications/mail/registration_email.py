"""The emails to an attendee about their registration: the event, its time in words, their link."""
import functools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, dates

from services.notifications.mail import labels, mime
from services.notifications.mail.kind import EmailKind, stand_in
from shared import wording

ICS_FILENAME = "evento.ics"
# Stand in for what differs between two attendees of one event: their name and links.
_NAME, _LINK, _CONFIRM = stand_in("name"), stand_in("link"), stand_in("confirm")


@dataclass(frozen=True, eq=False)
class RegistrationEmail(EmailKind):
    """An email reads the same for every attendee of an event but for their name and links."""

    essential: bool = True  # an active registration needs it, opposition or not

    def recipient(self, data):
        registration = data["registration"]
        return mime.one_line(registration["name"]), registration["email"]

    def language(self, data):
        return data["registration"]["language"]

    def related_commitments(self, data):
        return (data["event"].get("related_commitments") or []) if self.with_commitments else []

    def split(self, data, commitments):
        registration = data["registration"]
        kept = {"name": _NAME, "cancel_url": _LINK, "status": registration["status"]}
        personal = {_NAME: registration["name"], _LINK: registration["cancel_url"]}
        if registration.get("confirm_url"):  # a held seat: its own confirm link and deadline
            kept.update(confirm_url=_CONFIRM, held_until=registration["held_until"])
            personal[_CONFIRM] = registration["confirm_url"]
        shown = list(commitments) if self.with_commitments else []
        return {**data, "registration": kept, "commitments": shown}, personal

    def context(self, shared, language):
        event = shared["event"]
        held_until = shared["registration"].get("held_until")
        return dict(
            shared,
            topic=event["title"],
            when=when(event["starts_at"], event["ends_at"], event["timezone"], language),
            until=_until(held_until, event["timezone"], language) if held_until else None,
            country=country(event["country"], language),
            attachment=ICS_FILENAME if self.invite else None,
            commitments=[_commitment_line(item, language) for item in shared["commitments"]],
        )


def _commitment_line(item, language):
    return {"number": item["number"], "ogp_id": item.get("ogp_id"),
            "title": labels.localised(item["title"], language),
            "status": labels.status(item.get("status"), language),
            "progress": labels.percent(item.get("progress_pct"), language)}


@functools.lru_cache(maxsize=256)  # the same for every attendee; CLDR formatting is slow
def when(starts_at: str, ends_at: str, timezone_name: str, language: str) -> dict:
    """The event's date and times in its own zone, worded for one language."""
    zone = ZoneInfo(timezone_name)
    start = datetime.fromisoformat(starts_at).astimezone(zone)
    end = datetime.fromisoformat(ends_at).astimezone(zone)
    return {
        "span": wording.span(start, end, zone, language),
        "city": dates.get_timezone_location(zone, locale=labels.LOCALES[language], return_city=True),
        "offset": wording.offset(start, language),
        "zone": timezone_name,
    }


def _until(held_until, timezone_name, language):
    """When a held seat lapses: a time (and the day) in the event's zone, worded for one language."""
    zone = ZoneInfo(timezone_name)
    moment = datetime.fromisoformat(held_until).astimezone(zone)
    locale = labels.LOCALES[language]
    day = dates.format_date(moment, format="long", locale=locale)
    time = dates.format_time(moment, format="HH:mm", locale=locale)  # as the event times
    return {"day": day, "time": time,
            "city": dates.get_timezone_location(zone, locale=locale, return_city=True)}


@functools.lru_cache(maxsize=256)
def country(code, language):
    return Locale.parse(labels.LOCALES[language]).territories.get(code, code)
