"""Bilingual emails: plain text, HTML and, for registrations, an .ics; built from data only (pure)."""
import email.encoders
import functools
import email.utils
from datetime import datetime, timezone
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from pathlib import Path
import uuid
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
# Quoted-printable keeps the bodies 7-bit safe for any relay, yet readable raw; headers
# take base64 (RFC 2047 "B"), which the stdlib encodes far faster than "Q".
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_UTF8_B64 = Charset("utf-8")
_UTF8_B64.header_encoding = BASE64
# CLDR puts narrow and thin spaces around times; some mail clients draw them as boxes.
_SPACES = str.maketrans({"\u202f": "\u00a0", "\u2009": " "})



class _Policy(Compat32):
    """The classic policy, except that an ASCII header is written on one line (up to RFC
    5322's 998 characters), as the default policy would: compat32 folds a long URL onto a
    line of its own, which some parsers read back with a leading space."""

    def fold(self, name, value):
        if _fits_one_line(name, value):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if _fits_one_line(name, value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


def _fits_one_line(name, value):
    return (isinstance(value, str) and value.isascii() and "\n" not in value
            and len(name) + len(value) + 2 <= 998)


POLICY = _Policy()

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def build(kind: str, data: dict, *, mail_from: str, message_id: str,
          commitments=()):
    """One multipart message for one recipient, ready for `as_bytes()`.

    Built with the email package's classic (compat32) classes: the default policy's
    header objects cost more than the rest of the email put together (`make bench`).

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

    message = MIMEMultipart("mixed", boundary=_boundary(), policy=POLICY)
    message["Subject"] = _header(_one_line(subject))
    message["From"] = _address(*email.utils.parseaddr(mail_from))
    message["To"] = _address(*to)
    message["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        message[name] = _one_line(value)
    body = MIMEMultipart("alternative", boundary=_boundary())
    body.attach(MIMEText(text, "plain", _UTF8_QP))
    body.attach(MIMEText(html, "html", _UTF8_QP))
    message.attach(body)
    if kind in INVITES:
        cancelled = INVITES[kind]
        ics = calendar.invite(
            data, organizer_email=email.utils.parseaddr(mail_from)[1], cancelled=cancelled
        )
        invite = MIMEApplication(ics, "calendar", email.encoders.encode_base64)
        invite.set_type("text/calendar")
        invite.set_param("method", "CANCEL" if cancelled else "PUBLISH")
        invite.set_param("charset", "utf-8")
        invite.add_header("Content-Disposition", "attachment", filename=ICS_FILENAME)
        message.attach(invite)
    return message


def _registration(kind, data, commitments):
    """First language, To, each language's context and extra headers of a registration email."""
    registration, event = data["registration"], data["event"]
    to = (_one_line(registration["name"]), registration["email"])
    shown = list(commitments) if kind in WITH_COMMITMENTS else []
    contexts = {language: dict(
        data,
        topic=event["title"],
        when=_when(event["starts_at"], event["ends_at"], event["timezone"], language),
        country=_country(event["country"], language),
        attachment=ICS_FILENAME if kind in INVITES else None,
        commitments=[_commitment_line(item, language) for item in shown],
    ) for language in LOCALES}
    return registration["language"], to, contexts, {}


def _follower(kind, data, mail_from):
    """The same four for an email to a follower (whose name is not known)."""
    contexts = {language: follower_emails.context(kind, data, language) for language in LOCALES}
    return (follower_emails.language(data), ("", follower_emails.address(data)), contexts, follower_emails.headers(kind, data, mail_from))


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
    locale = LOCALES[language]
    zone = ZoneInfo(timezone_name)
    start = datetime.fromisoformat(starts_at).astimezone(zone)
    end = datetime.fromisoformat(ends_at).astimezone(zone)
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
        "zone": timezone_name,
    }


@functools.lru_cache(maxsize=256)
def _country(code, language):
    return Locale.parse(LOCALES[language]).territories.get(code, code)


def _address(name, addr_spec):
    """A From/To value; a non-ASCII name is RFC 2047-encoded, so headers stay ASCII."""
    return email.utils.formataddr((name, addr_spec), charset=_UTF8_B64)


def _header(value):
    return value if value.isascii() else Header(value, _UTF8_B64)


def _boundary():
    # Random enough never to occur in a body, so the generator need not search for it.
    return f"=_abierto_{uuid.uuid4().hex}"


def _one_line(value):
    # Header values may not contain line breaks; collapse any whitespace run to one space.
    return " ".join(str(value).split())
