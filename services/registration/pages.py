"""The public pages: the events, one event with its registration form, the privacy notice,
and the pages a cancellation or confirmation link opens (GET shows, since mail scanners
follow links; the button's POST cancels or confirms).

Spanish by default, English by the switch in the header (shared.i18n picks the language).
Forms carry a CSRF token kept in Flask's signed session cookie.
"""
import hmac
import secrets
from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request, session
from marshmallow import ValidationError

from services.registration import api, attendee, page_content
from services.registration import service as use_cases
from services.registration.facts import CANCEL_PURPOSE, CONFIRM_PURPOSE
from services.registration.related import related_commitments
from services.registration.schemas import RegistrationSchema
from shared import i18n, signing, statuses
from shared.domain_errors import NotFound
from shared.ratelimit import limited, wait_for
from shared.web import personal_answer, secret_url, service

bp = Blueprint("pages", __name__, template_folder="templates")
LINK_MAX_AGE = 400 * 24 * 3600  # a year and a bit: registration can open long before the event
EVENT = "/events/<int(max=2147483647):event_id>"
LISTED = 100  # events per section of the home page
CSRF_KEY = "csrf"
_REGISTRATION = RegistrationSchema()  # made once: making a schema costs more than a load


@bp.app_context_processor
def _page_helpers():
    language = i18n.language
    return {"csrf_token": _csrf_token, "when": lambda event: page_content.when(event, language()),
            "sectors": page_content.SECTOR_LABELS,
            # The event's words in the reader's language, falling back to the Spanish original
            "event_text": lambda event, name: page_content.text(event, name, language()),
            "in_spanish": lambda event, name: page_content.in_spanish(event, name, language()),
            "status_reason": lambda event: page_content.status_reason(event, language())}


def _csrf_token():
    personal_answer()  # a page with this session's token (and maybe its new cookie)
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(32)
    return session[CSRF_KEY]


def csrf_ok():
    sent, kept = request.form.get("csrf_token", ""), session.get(CSRF_KEY, "")
    return bool(sent and kept) and hmac.compare_digest(sent.encode(), kept.encode())


def _html(template, status=200, **context):
    return render_template(template, **context), status


def _event_or_404(event_id):
    try:
        return use_cases.get_event(service().db, event_id)
    except NotFound:
        abort(Response(render_template("message.html", kind="not_found"), 404,
                       mimetype="text/html"))


@bp.get("/")
def events():
    """Upcoming events first, then past ones, with the seats each has left."""
    now = service().clock()
    upcoming, _ = use_cases.list_events(service().db, now, 1, LISTED, when="upcoming")
    past, _ = use_cases.list_events(service().db, now, 1, LISTED, when="past")
    return render_template("events.html", upcoming=upcoming, past=past,
                           availability=lambda event: page_content.availability(event, now))


def _event_page(event, status=200, values=None, errors=None):
    now = service().clock()
    return render_template(
        "event.html", event=event, state=page_content.availability(event, now),
        osm_url=page_content.osm_url(event), place=page_content.place(event),
        json_ld=page_content.json_ld(event, i18n.language()),
        commitments=related_commitments(event.related_commitments or (), service().commitments,
                                        service().commitments_url),
        commitment_status=statuses.COMMITMENT_STATUS,
        values=values or {"language": i18n.language()}, errors=errors or {}), status


@bp.get(EVENT)
def event(event_id):
    """One event: details, where it is, add to calendar, and the form while registration is open."""
    return _event_page(_event_or_404(event_id))


@bp.post(EVENT)
def register(event_id):
    """Register through the same use case as the API (so the same emails go out), within the
    same limits, counted as the API counts an anonymous attempt (one Redis round trip); over
    either, the 429 is a page in words."""
    wait = wait_for(api.event_attempt(event_id))
    if wait is not None:  # the 429, worded for people
        page = render_template("message.html", kind="too_many", event_id=event_id,
                               minutes=-(-wait // 60))
        return page, 429, {"Retry-After": str(wait)}
    if not csrf_ok():
        return _html("message.html", 400, kind="csrf", event_id=event_id)
    event = _event_or_404(event_id)
    try:
        fields = _REGISTRATION.load(page_content.schema_input(request.form))
    except ValidationError as error:
        return _event_page(event, 422, page_content.form_values(request.form),
                           page_content.form_errors(error.messages, i18n.language()))
    try:
        api.register(event_id, fields, anonymous=True)
    except use_cases.domain.RegistrationClosed:
        return _event_page(event, 409)
    # One page whatever happened to the email (new, repeat): the email tells the person.
    return _html("registered.html", event=event)


@bp.get(EVENT + "/calendar.ics")
def calendar(event_id):
    """The event as an .ics file for any calendar app."""
    body = page_content.ics(_event_or_404(event_id), service().clock(), i18n.language(),
                            service().uid_domain)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="evento-{event_id}.ics"'})


@bp.get("/privacy")
def privacy():
    """The privacy notice (aviso de privacidad); the municipality edits templates/privacy.html.
    How long data is kept comes from the settings that keep it, so the notice cannot drift."""
    settings = service().settings
    return render_template("privacy.html", retention_days=settings.retention_days,
                           stream_days=f"{settings.stream_retention / timedelta(days=1):g}",
                           context_days=settings.delivery_context_days,
                           public_count_min=settings.public_count_min)


def _registration_id(token, purpose=CANCEL_PURPOSE):
    return signing.unsign(service().settings.keys, purpose, token, LINK_MAX_AGE)


LINK_FAILURES = (signing.LinkInvalid, NotFound, use_cases.domain.HoldLapsed,
                 use_cases.domain.RegistrationClosed)


def _link_failed(error):
    """The page, and its status, for an emailed link that cannot be used (LINK_FAILURES)."""
    if isinstance(error, signing.LinkInvalid):
        return render_template("link_invalid.html", expired=error.expired), (
            410 if error.expired else 400)
    if isinstance(error, NotFound):
        return render_template("link_invalid.html", expired=False), 404
    if isinstance(error, use_cases.domain.HoldLapsed):
        return render_template("link_invalid.html", lapsed=True), 410
    return render_template("link_invalid.html", over=True), 409  # the event is over


@bp.route("/registrations/cancel/<token>", methods=["GET", "POST"])
@secret_url
@limited
def cancel(token):
    """The attendee's own page: their event as it stands, their status, their check-in code,
    add to calendar, and the cancel button, whose POST cancels."""
    try:
        registration_id = _registration_id(token)
        if request.method == "POST":
            registration, event = use_cases.cancel(
                service().db, registration_id, service().links, service().clock())
            return render_template("cancelled.html", registration=registration, event=event)
        own = attendee.own_registration(service().db, registration_id)
    except LINK_FAILURES as error:
        return _link_failed(error)
    personal_answer()  # the person's name and their code
    registration, event, links = own.registration, own.event, service().links
    confirmed = registration.status == use_cases.domain.CONFIRMED
    return render_template(
        "cancel.html", registration=registration, event=event, place=page_content.place(event),
        place_in_line=own.place_in_line, over=service().clock() >= event.ends_at,
        checkin=page_content.checkin(links.keys, event, registration, i18n.language())
        if confirmed and event.status != "cancelled" else None,
        confirm_url=links.confirm(registration.id)
        if registration.status == use_cases.domain.PENDING else None)


@bp.get("/registrations/cancel/<token>/calendar.ics")
@secret_url
@limited
def own_calendar(token):
    """The attendee's entry as an .ics, the same entry (UID, SEQUENCE) their invites carry."""
    try:
        own = attendee.own_registration(service().db, _registration_id(token))
    except LINK_FAILURES as error:
        return _link_failed(error)
    body = page_content.registration_ics(own.event, own.registration, service().clock(),
                                         i18n.language(), service().uid_domain)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="registro-{own.registration.id}.ics"'})


@bp.route("/registrations/confirm/<token>", methods=["GET", "POST"])
@secret_url
@limited
def confirm(token):
    """Show the held seat with a confirm button; the button's POST confirms it."""
    try:
        registration_id = _registration_id(token, CONFIRM_PURPOSE)
        if request.method == "POST":
            registration, event = use_cases.confirm(
                service().db, registration_id, service().links, service().clock())
            return render_template("confirmed.html", registration=registration, event=event)
        registration, event = use_cases.registration_view(service().db, registration_id)
    except LINK_FAILURES as error:
        return _link_failed(error)
    lapsed = use_cases.domain.hold_lapsed(registration, service().clock())
    return render_template("confirm.html", registration=registration, event=event, lapsed=lapsed)
