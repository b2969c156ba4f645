"""The emails to an attendee about their registration: the event, its time in words, their
link and, while they hold a seat, what opens the door (the check-in QR code and short code)."""
import functools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, dates

from services.notifications.mail import checkin_qr, labels, mime
from services.notifications.mail.follower_email import is_web
from services.notifications.mail.kind import EmailKind, Inline, stand_in
from shared import wording

ICS_FILENAME = "evento.ics"
QR_FILENAME = "registro-qr.png"
# Stand in for what differs between two attendees of one event: their name, links and
# check-in code, and the QR image's Content-ID.
_NAME, _LINK, _CONFIRM = stand_in("name"), stand_in("link"), stand_in("confirm")
_CODE, _QR = stand_in("checkin-code"), stand_in("checkin-qr")


@dataclass(frozen=True, eq=False)
class RegistrationEmail(EmailKind):
    """An email reads the same for every attendee of an event but for their name and links."""

    essential: bool = True  # an active registration needs it, opposition or not
    checkin: bool = False  # shows the check-in QR code and short code to a confirmed attendee
    # The invite only to a confirmed attendee: one waiting or holding an unconfirmed seat has
    # no entry in a calendar to add, move or remove.
    invite_seats_only: bool = False

    def invite_for(self, data):
        if self.invite_seats_only and data["registration"]["status"] != "confirmed":
            return None
        return self.invite

    def recipient(self, data):
        registration = data["registration"]
        return mime.one_line(registration["name"]), registration["email"]

    def language(self, data):
        return data["registration"]["language"]

    def related_commitments(self, data):
        return (data["event"].get("related_commitments") or []) if self.with_commitments else []

    def split(self, data, commitments):
        registration = data["registration"]
        kept = {"name": _NAME, "cancel_url": _LINK, "status": registration["status"],
                "waitlist_position": registration.get("waitlist_position")}
        personal = {_NAME: registration["name"], _LINK: registration["cancel_url"]}
        if registration.get("confirm_url"):  # a held seat: its own confirm link and deadline
            kept.update(confirm_url=_CONFIRM, held_until=registration["held_until"])
            personal[_CONFIRM] = registration["confirm_url"]
        kept["checkin"] = None
        if self._shows_checkin(registration):  # the image goes in after rendering: `inline`
            kept["checkin"] = {"code": _CODE, "image": _QR}
            personal[_CODE] = registration["checkin_code"]
        shown = list(commitments) if self.with_commitments else []
        return {**data, "registration": kept, "commitments": shown}, personal

    def inline(self, data):
        registration = data["registration"]
        if not self._shows_checkin(registration):
            return []
        return [Inline(_QR, checkin_qr.png(registration["checkin_token"]), filename=QR_FILENAME)]

    def _shows_checkin(self, registration):
        # Facts carry the codes only while the seat is held; the status is checked all the same.
        return bool(self.checkin and registration.get("status") == "confirmed"
                    and registration.get("checkin_token") and registration.get("checkin_code"))

    def context(self, shared, language):
        event = shared["event"]
        held_until = shared["registration"].get("held_until")
        online_url = event.get("online_url") or ""  # absent from older facts
        shown = dict(event, title=title(event, language), online_url=online_url,
                     online_linkable=is_web(online_url), url=event_page(event, language))
        registration = {**shared["registration"], **{  # the stand-ins, with the section's `lang`
            name: labels.page_url(shared["registration"][name], language)
            for name in ("cancel_url", "confirm_url") if shared["registration"].get(name)}}
        return dict(
            shared,
            event=shown,
            registration=registration,
            topic=shown["title"],
            when=when(event["starts_at"], event["ends_at"], event["timezone"], language),
            until=_until(held_until, event["timezone"], language) if held_until else None,
            # The parts the event has: an online event, or one made with a title and times
            # only, has no venue or address, and its email shows no empty line for them.
            address=", ".join(part for part in (event.get("address"), event.get("city"),
                                                country(event["country"], language)) if part),
            attachment=ICS_FILENAME if self.invite_for(shared) else None,
            qr_size=checkin_qr.SIZE,
            commitments=[_commitment_line(item, language) for item in shared["commitments"]],
        )


def event_page(event, language):
    """The event's public page in `language`. Facts written before the page existed carry
    the API's address (/api/v1/events/N): the page is at /events/N."""
    return labels.page_url(event["url"].replace("/api/v1/events/", "/events/", 1), language)


def title(event, language):
    """The event's title in one language; English falls back to the Spanish, the canonical one."""
    return (language == "en" and event.get("title_en")) or event["title"]


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
