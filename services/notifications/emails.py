"""Bilingual emails: plain text, HTML and, for registrations, an .ics; built from data only (pure)."""
import email.utils
import functools
import json
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale, dates
from markupsafe import Markup, escape

from services.notifications import calendar, follower_emails, labels, mime
from shared import wording

KINDS = (  # emails to an attendee about their registration
    "registration_confirmed",
    "registration_waitlisted",
    "registration_promoted",
    "registration_cancelled",
    "registration_pending",  # a seat held until the person confirms through the link
    "registration_repeat",  # registered again: what they hold, and their own link
)
LOCALES = labels.LOCALES
# Registration emails that show the commitments their event reports on.
WITH_COMMITMENTS = ("registration_confirmed", "registration_promoted")
# Kinds that carry an .ics, mapped to whether it cancels the calendar entry.
INVITES = {
    "registration_confirmed": False,
    "registration_promoted": False,
    "registration_cancelled": True,
}
ICS_FILENAME = "evento.ics"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def warm_up():
    """Load what every email needs and each process would otherwise load on its first one
    (about 30 ms): compiled templates and the CLDR data of both languages, read by making
    each kind of wording once. Called by the worker before it forks its pool, whose
    processes then share it."""
    for name in env.list_templates():
        env.get_template(name)
    for language in LOCALES:
        _when("2000-01-01T16:00:00+00:00", "2000-01-01T18:00:00+00:00", "America/Chihuahua",
              language)
        _country("MX", language)
        labels.day("2000-01-01", language)
        labels.percent(50, language)


def build(kind: str, data: dict, *, mail_from: str, message_id: str, commitments=()):
    """One multipart message for one recipient, ready for `as_bytes()`.

    `commitments` ({number, ogp_id, title, status, progress_pct}) are shown on the
    registration emails that have a place for them; the caller fetched them.
    """
    if kind in KINDS:
        to, headers, bodies = _registration(kind, data, commitments)
    elif kind in follower_emails.KINDS:
        to, headers, bodies = _follower(kind, data, mail_from)
    else:
        raise ValueError(f"unknown email kind: {kind!r}")
    subject, text, html = bodies
    invite = None
    if kind in INVITES:
        method = "CANCEL" if INVITES[kind] else "PUBLISH"
        ics = calendar.invite(data, organizer_email=email.utils.parseaddr(mail_from)[1],
                              cancelled=INVITES[kind])
        invite = (ics, method, ICS_FILENAME)
    return mime.message(subject=subject, mail_from=mail_from, to=to, message_id=message_id,
                        headers=headers, text=text, html=html, invite=invite)


def _bodies(kind, first, contexts):
    """Subject, text and HTML: the recipient's language first, the other below."""
    first = first if first in LOCALES else "es"
    languages = (first, "en" if first == "es" else "es")
    parts = [_render(kind, language, contexts[language]) for language in languages]
    subject = f"{parts[0][0]}: {contexts[first]['topic']} / {parts[1][0]}"
    text = env.get_template("layout.txt").render(
        parts=[(language, part[1]) for language, part in zip(languages, parts)])
    html = env.get_template("layout.html").render(
        subject=subject, parts=[(language, part[2]) for language, part in zip(languages, parts)])
    return subject, text, html


def _registration(kind, data, commitments):
    """To, extra headers and bodies of a registration email.

    An email reads the same for every attendee of an event but for their name and link, so
    it is rendered once per event, kind and language, and each attendee's put in after.
    """
    registration = data["registration"]
    to = (mime.one_line(registration["name"]), registration["email"])
    shown = list(commitments) if kind in WITH_COMMITMENTS else []
    kept = {"name": _NAME, "cancel_url": _LINK, "status": registration["status"]}
    personal = {_NAME: registration["name"], _LINK: registration["cancel_url"]}
    if registration.get("confirm_url"):  # a held seat: its own confirm link and deadline
        kept.update(confirm_url=_CONFIRM, held_until=registration["held_until"])
        personal[_CONFIRM] = registration["confirm_url"]
    shared = {**data, "registration": kept, "commitments": shown}
    bodies = _shared_bodies(kind, registration["language"], json.dumps(shared, sort_keys=True))
    return to, {}, _personal(bodies, personal)


def _registration_contexts(kind, data):
    event = data["event"]
    held_until = data["registration"].get("held_until")
    return {language: dict(
        data,
        topic=event["title"],
        when=_when(event["starts_at"], event["ends_at"], event["timezone"], language),
        until=_until(held_until, event["timezone"], language) if held_until else None,
        country=_country(event["country"], language),
        attachment=ICS_FILENAME if kind in INVITES else None,
        commitments=[_commitment_line(item, language) for item in data["commitments"]],
    ) for language in LOCALES}


def _follower(kind, data, mail_from):
    """The same three for an email to a follower (whose name is not known); an alert is,
    like a registration email, rendered once per change and shared by its followers."""
    to = ("", follower_emails.address(data))
    headers = follower_emails.headers(kind, data, mail_from)
    if kind != "milestone_alert":
        contexts = {language: follower_emails.context(kind, data, language) for language in LOCALES}
        return to, headers, _bodies(kind, follower_emails.language(data), contexts)
    shared = {**data, "subscription": {"language": follower_emails.language(data),
                                       "unsubscribe_url": _LINK}}
    bodies = _shared_bodies(kind, follower_emails.language(data), json.dumps(shared, sort_keys=True))
    return to, headers, _personal(bodies, {_LINK: data["subscription"]["unsubscribe_url"]})


# Stand in for what differs between two recipients of one shared email: their name and links.
_NAME, _LINK, _CONFIRM = (f"abierto-{what}-{uuid.uuid4().hex}"
                          for what in ("name", "link", "confirm"))


@functools.lru_cache(maxsize=64)
def _shared_bodies(kind, first, shared_json):
    """Rendering costs more than the rest of an email; what is shared is rendered once."""
    data = json.loads(shared_json)
    if kind in KINDS:
        contexts = _registration_contexts(kind, data)
    else:
        contexts = {language: follower_emails.context(kind, data, language) for language in LOCALES}
    return _bodies(kind, first, contexts)


def _personal(bodies, values):
    """Shared bodies with one recipient's values in place of the stand-ins."""
    subject, text, html = bodies
    for stand_in, value in values.items():
        text, html = text.replace(stand_in, value), html.replace(stand_in, escape(value))
    return subject, text, html


def _commitment_line(item, language):
    return {"number": item["number"], "ogp_id": item.get("ogp_id"),
            "title": labels.localised(item["title"], language),
            "status": labels.status(item.get("status"), language),
            "progress": labels.percent(item.get("progress_pct"), language)}


def _render(kind, language, context):
    """The subject phrase, text and HTML of one language's section."""
    # The text template also declares the subject, so wording lives in one editable place.
    text = env.get_template(f"{kind}/{language}.txt").make_module(context)
    html = env.get_template(f"{kind}/{language}.html").render(context, headline=text.subject)
    return text.subject, str(text).strip(), Markup(html.strip())


@functools.lru_cache(maxsize=256)  # the same for every attendee; CLDR formatting is slow
def _when(starts_at: str, ends_at: str, timezone_name: str, language: str) -> dict:
    """The event's date and times in its own zone, worded for one language."""
    zone = ZoneInfo(timezone_name)
    start = datetime.fromisoformat(starts_at).astimezone(zone)
    end = datetime.fromisoformat(ends_at).astimezone(zone)
    return {
        "span": wording.span(start, end, zone, language),
        "city": dates.get_timezone_location(zone, locale=LOCALES[language], return_city=True),
        "offset": wording.offset(start, language),
        "zone": timezone_name,
    }


def _until(held_until, timezone_name, language):
    """When a held seat lapses: a time (and the day) in the event's zone, worded for one language."""
    zone = ZoneInfo(timezone_name)
    moment = datetime.fromisoformat(held_until).astimezone(zone)
    day = dates.format_date(moment, format="long", locale=LOCALES[language])
    time = dates.format_time(moment, format="HH:mm", locale=LOCALES[language])  # as the event times
    return {"day": day, "time": time,
            "city": dates.get_timezone_location(zone, locale=LOCALES[language], return_city=True)}


@functools.lru_cache(maxsize=256)
def _country(code, language):
    return Locale.parse(LOCALES[language]).territories.get(code, code)
