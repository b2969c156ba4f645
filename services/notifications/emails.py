"""Bilingual emails: plain text, HTML and, for registrations, an .ics; built from data only (pure)."""
import email.utils
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale, dates
from markupsafe import Markup

from services.notifications import calendar, follower_emails, labels

KINDS = (  # emails to an attendee about their registration
    "registration_confirmed",
    "registration_waitlisted",
    "registration_promoted",
    "registration_cancelled",
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
# 24-hour clock is usual in Mexico; English readers expect AM/PM.
_TIME_SKELETONS = {"es": "Hm", "en": "hm"}
# CLDR puts narrow and thin spaces around times; some mail clients draw them as boxes.
_SPACES = str.maketrans({"\u202f": "\u00a0", "\u2009": " "})

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def build(kind: str, data: dict, *, mail_from: str, message_id: str,
          commitments=()) -> EmailMessage:
    """One multipart message for one recipient.

    `commitments` ({number, ogp_id, title, status, progress_pct}) are shown on the
    registration emails that have a place for them; the caller fetched them.
    """
    if kind in KINDS:
        first, to, contexts, headers = _registration(kind, data, commitments)
    elif kind in follower_emails.KINDS:
        first, to, contexts, headers = _follower(kind, data, mail_from)
    else:
        raise ValueError(f"unknown email kind: {kind!r}")
    first = first if first in LOCALES else "es"
    languages = (first, "en" if first == "es" else "es")
    parts = [_render(kind, language, contexts[language]) for language in languages]

    subject = f"{parts[0][0]}: {contexts[first]['topic']} / {parts[1][0]}"
    text = env.get_template("layout.txt").render(
        parts=[(language, part[1]) for language, part in zip(languages, parts)]
    )
    html = env.get_template("layout.html").render(
        subject=subject,
        parts=[(language, part[2]) for language, part in zip(languages, parts)],
    )

    message = EmailMessage()
    message["Subject"] = _one_line(subject)
    message["From"] = mail_from
    message["To"] = to
    message["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        message[name] = _one_line(value)
    # Quoted-printable keeps the message 7-bit safe for any relay, yet readable raw.
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    if kind in INVITES:
        cancelled = INVITES[kind]
        ics = calendar.invite(
            data, organizer_email=email.utils.parseaddr(mail_from)[1], cancelled=cancelled
        )
        message.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            filename=ICS_FILENAME,
            params={"method": "CANCEL" if cancelled else "PUBLISH", "charset": "utf-8"},
        )
    else:
        message.make_mixed()
    return message


def _registration(kind, data, commitments):
    """First language, To, each language's context and extra headers of a registration email."""
    registration, event = data["registration"], data["event"]
    to = Address(display_name=_one_line(registration["name"]), addr_spec=registration["email"])
    shown = list(commitments) if kind in WITH_COMMITMENTS else []
    contexts = {language: dict(
        data,
        topic=event["title"],
        when=_when(event, language),
        country=Locale.parse(LOCALES[language]).territories.get(event["country"], event["country"]),
        attachment=ICS_FILENAME if kind in INVITES else None,
        commitments=[_commitment_line(item, language) for item in shown],
    ) for language in LOCALES}
    return registration["language"], to, contexts, {}


def _follower(kind, data, mail_from):
    """The same four for an email to a follower (whose name is not known)."""
    contexts = {language: follower_emails.context(kind, data, language) for language in LOCALES}
    return (follower_emails.language(data), Address(addr_spec=follower_emails.address(data)),
            contexts, follower_emails.headers(kind, data, mail_from))


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


def _when(event: dict, language: str) -> dict:
    """The event's date and times in its own zone, worded for one language."""
    locale = LOCALES[language]
    zone = ZoneInfo(event["timezone"])
    start = datetime.fromisoformat(event["starts_at"]).astimezone(zone)
    end = datetime.fromisoformat(event["ends_at"]).astimezone(zone)
    skeleton = _TIME_SKELETONS[language]
    if start.date() == end.date():
        times = dates.format_interval(start, end, skeleton, tzinfo=zone, locale=locale)
        span = f"{dates.format_date(start, 'full', locale=locale)}, {times}"
    else:
        span = " – ".join(
            f"{dates.format_date(moment, 'full', locale=locale)}, "
            f"{dates.format_skeleton(skeleton, moment, tzinfo=zone, locale=locale)}"
            for moment in (start, end)
        )
    return {
        "span": span.translate(_SPACES),
        "city": dates.get_timezone_location(zone, locale=locale, return_city=True),
        "offset": dates.get_timezone_gmt(start, locale=locale),
        "zone": event["timezone"],
    }


def _one_line(value):
    # Header values may not contain line breaks; collapse any whitespace run to one space.
    return " ".join(str(value).split())
