"""One bilingual email from a delivery's data: its kind renders text and HTML, an .ics and
inline images go with it if the kind says so (pure: data in, message out)."""
import functools
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from services.notifications.mail import calendar_invite, checkin_qr, kinds, labels, mime
from services.notifications.mail.registration_email import ICS_FILENAME, country, when
from shared import calendar

LOCALES = labels.LOCALES
LAYOUTS = jinja2.FileSystemLoader(Path(__file__).parent / "templates")  # what kinds share


@functools.cache  # one environment per folder of kinds' templates, compiled templates kept
def environment(templates):
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(templates), LAYOUTS]),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def warm_up():
    """Load what every email needs and each process would otherwise load on its first one:
    compiled templates and the CLDR data of both languages, read by making each kind of
    wording once, what the QR code learns from segno, and the invites' time zone rules for
    Chihuahua this year and next. Called by the worker before it forks its pool, whose
    processes then share it."""
    for kind in kinds.REGISTRY.values():
        env = environment(kind.templates)
        for name in env.list_templates():
            env.get_template(name)
    for language in LOCALES:
        when("2000-01-01T16:00:00+00:00", "2000-01-01T18:00:00+00:00", "America/Chihuahua",
             language)
        country("MX", language)
        labels.day("2000-01-01", language)
        labels.percent(50, language)
    checkin_qr.warm_up()
    calendar.warm_up("America/Chihuahua", datetime.now(timezone.utc))


def build(kind_name: str, data: dict, *, mail_from: str, message_id: str, commitments=(),
          my_data_url=None, uid_domain=None):
    """One multipart message for one recipient, ready for `as_bytes()`.

    `commitments` ({number, ogp_id, title, status, progress_pct}) are shown by the kinds
    that have a place for them; the caller fetched them. `my_data_url`, the "Mis datos"
    page, is linked from the footer. `uid_domain` makes an invite's UID
    (shared.calendar.uid_domain); by default MAIL_FROM's domain.
    """
    kind = kinds.get(kind_name)
    shared, personal = kind.split(data, commitments)
    bodies = _shared_bodies(kind, kind.language(data), json.dumps(shared, sort_keys=True),
                            my_data_url)
    subject, text, html = _personal(bodies, personal)
    images = []
    for image in kind.inline(data):  # each recipient's own, so after the shared rendering
        content_id = f"{uuid.uuid4().hex}@{mime.domain_of(mail_from)}"
        html = html.replace(image.stand_in, content_id)
        images.append((image.content, image.subtype, content_id, image.filename))
    attachment = None
    method = kind.invite_for(data)
    if method:
        ics = calendar_invite.invite(data, organizer_email=mime.address_of(mail_from),
                                     method=method, uid_domain=uid_domain)
        attachment = (ics, method, ICS_FILENAME)
    headers = kind.headers(data, mime.domain_of(mail_from))
    return mime.message(subject=subject, mail_from=mail_from, to=kind.recipient(data),
                        message_id=message_id, headers=headers, text=text, html=html,
                        invite=attachment, inline=images)


@functools.lru_cache(maxsize=64)
def _shared_bodies(kind, first, shared_json, my_data_url=None):
    """Subject, text and HTML of what every recipient of one event shares: the recipient's
    language first, the other below."""
    shared = json.loads(shared_json)
    first = first if first in LOCALES else "es"
    languages = (first, "en" if first == "es" else "es")
    contexts = {language: kind.context(shared, language) for language in languages}
    env = environment(kind.templates)
    parts = [_render(env, kind, language, contexts[language]) for language in languages]
    subject = f"{parts[0][0]}: {contexts[first]['topic']} / {parts[1][0]}"
    # The footer's "Mis datos" / "My data": each language's words open the page in it.
    my_data = {language: labels.page_url(my_data_url, language) for language in languages}
    text = env.get_template("layout.txt").render(
        parts=[(language, part[1]) for language, part in zip(languages, parts)],
        my_data_url=my_data_url and my_data[first])
    html = env.get_template("layout.html").render(
        subject=subject, parts=[(language, part[2]) for language, part in zip(languages, parts)],
        my_data_url=my_data_url, my_data=my_data)
    return subject, text, html


def _personal(bodies, values):
    """Shared bodies with one recipient's values in place of the stand-ins."""
    subject, text, html = bodies
    for stand_in, value in values.items():
        text, html = text.replace(stand_in, value), html.replace(stand_in, escape(value))
    return subject, text, html


def _render(env, kind, language, context):
    """The subject phrase, text and HTML of one language's section."""
    # The text template also declares the subject, so wording lives in one editable place.
    text = env.get_template(f"{kind.name}/{language}.txt").make_module(context)
    html = env.get_template(f"{kind.name}/{language}.html").render(context, headline=text.subject)
    return text.subject, str(text).strip(), Markup(html.strip())
