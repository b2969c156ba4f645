"""The staff's check-in page, /events/{id}/check-in: one field that takes a USB scanner's
input or a typed code, the phone's camera where the browser reads QR codes itself, walk-ins,
and the counts. Works without JavaScript: every answer is the page again, the field focused.

Staff arrive by a staff link (`?staff=...`) or type a `checkin:write` token once; either is
kept in a cookie only this event's page receives (HttpOnly, SameSite=Strict) and checked on
every request, so a revoked link stops at once. Also here: the public attendance table an
event's page shows once it has ended (`public_attendance`, for _attendance.html).
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, make_response, redirect, render_template, request
from marshmallow import ValidationError

from services.registration import attendance, attendance_public, checkin_access, checkin_api
from services.registration import checkin_rules as rules
from services.registration import page_content
from services.registration import service as use_cases
from services.registration.checkin_schemas import WalkInSchema
from services.registration.pages import csrf_ok
from shared import i18n, wording
from shared.domain_errors import NotFound
from shared.errors import status_of
from shared.tokens import PREFIX
from shared.web import personal_answer, secret_url, service

bp = Blueprint("door_pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/door-assets")
PAGE = "/events/<int(max=2147483647):event_id>/check-in"
COOKIE = "abierto_door"
KEPT = int(timedelta(days=7).total_seconds())  # a door is open for a day or two, not for months
_WALK_IN = WalkInSchema()
WALK_IN_FIELDS = ("name", "sector", "organization", "email", "language")
WALK_IN_ERRORS = {**page_content.ERRORS, "privacy_consent": (
    "Confirma que la persona aceptó el aviso de privacidad.",
    "Confirm that the person accepted the privacy notice.")}


# What the answer says (es, en), big, with an icon and a colour that only repeat it.
SAID = {
    rules.CHECKED_IN: ("Registrado", "Checked in"),
    rules.ALREADY_CHECKED_IN: ("Ya registrado a las {at}", "Already checked in at {at}"),
    "cancelled": ("Cancelado", "Cancelled"),
    "waitlisted": ("En lista de espera: sin lugar", "On the waiting list: no seat"),
    "pending": ("Sin confirmar: sin lugar", "Not confirmed: no seat"),
    "expired": ("Su lugar venció: sin lugar", "Seat expired: no seat"),
    **rules.DOOR_SHUT,
    rules.NOT_FOR_THIS_EVENT: ("No es de este evento", "Not for this event"),
    rules.INVALID_CODE: ("Código no válido", "Invalid code"),
}
TONES = {rules.CHECKED_IN: ("ok", "✓"), rules.ALREADY_CHECKED_IN: ("warn", "!")}  # others: bad, ✗


def outcome(result, name, at, zone, language):
    """The answer as the page shows it: words, tone, icon, and the name."""
    words = SAID[result][0 if language == "es" else 1]
    at = wording.clock(at, zone, language) if at else ""
    tone, icon = TONES.get(result, ("bad", "✗"))
    return {"result": result, "said": words.format(at=at), "tone": tone, "icon": icon, "name": name}


def _path(event_id):
    return f"/events/{event_id}/check-in"


@bp.get(PAGE)
@secret_url  # the staff link's own address holds its credential
def door(event_id):
    """The check-in page for staff; the sign-in page for anyone else (no event data)."""
    if "staff" in request.args:
        return _open_staff_link(event_id, request.args["staff"])
    return _shut(event_id) or _page(event_id)


@bp.post(PAGE)
def scan(event_id):
    """Check in the code typed or scanned; the page again, with the answer."""
    refused = _shut(event_id) or _bad_form(event_id)
    if refused:
        return refused
    return _admit(event_id, {"code": request.form.get("code", "")})


@bp.post(PAGE + "/walk-in")
def walk_in(event_id):
    """Admit someone who did not register; the form again, with what to fix, if it is wrong."""
    refused = _shut(event_id) or _bad_form(event_id)
    if refused:
        return refused
    form = request.form
    values = {name: form.get(name, "").strip() for name in WALK_IN_FIELDS}
    try:
        person = _WALK_IN.load({**values, "email": values["email"] or None,
                                "language": values["language"] or "es",
                                "privacy_consent": form.get("privacy_consent") == "yes"})
    except ValidationError as error:
        index = 0 if i18n.language() == "es" else 1
        errors = {name: WALK_IN_ERRORS[name][index] for name in error.messages
                  if name in WALK_IN_ERRORS}
        return _page(event_id, 422, walk_in=values, errors=errors)
    return _admit(event_id, {"walk_in": person})


@bp.post(PAGE + "/sign-in")
def sign_in(event_id):
    """Keep a `checkin:write` token typed into the page, as a staff link is kept."""
    if not csrf_ok():
        return _bad_form(event_id)
    token = request.form.get("token", "").strip()
    try:
        checkin_access.door_keeper(token, event_id)
    except checkin_access.Refused as refused:
        return _sign_in_page(event_id, refused)
    return _keep(redirect(_path(event_id), 303), event_id, token)


@bp.post(PAGE + "/sign-out")
def sign_out(event_id):
    """Forget the link or token this browser holds for the page."""
    if not csrf_ok():
        return _bad_form(event_id)
    response = redirect(_path(event_id), 303)
    response.delete_cookie(COOKIE, path=_path(event_id))
    return response


def _open_staff_link(event_id, credential):
    """Check the link, keep its credential in the cookie, and move to the clean address, so
    the credential leaves the address bar and the history."""
    try:
        if credential.startswith(PREFIX):  # an API token has no business in an address
            raise checkin_access.Refused(401, checkin_access.INVALID)
        checkin_access.door_keeper(credential, event_id)
    except checkin_access.Refused as refused:
        return _sign_in_page(event_id, refused)
    # Not an HTTP redirect: after a link clicked in another site (a mail or chat app) the
    # browser would treat the redirect as cross-site too and withhold the SameSite=Strict
    # cookie just set. A refresh made by this page is a same-site navigation.
    page = render_template("check_in_opening.html", url=_path(event_id))
    return _keep(make_response(page), event_id, credential)


def _keep(response, event_id, credential):
    response.set_cookie(COOKIE, credential, max_age=KEPT, path=_path(event_id), httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Strict")
    return response


def _shut(event_id):
    """None when this browser's cookie opens the door, else the sign-in page saying why."""
    try:
        checkin_access.door_keeper(request.cookies.get(COOKIE), event_id)
    except checkin_access.Refused as refused:
        return _sign_in_page(event_id, refused)
    return None


def _sign_in_page(event_id, refused):
    response = make_response(render_template(
        "check_in_sign_in.html", event_id=event_id, reason=refused.reason), refused.status)
    if refused.reason != checkin_access.MISSING:  # a credential that no longer opens anything
        response.delete_cookie(COOKIE, path=_path(event_id))
    return response


def _bad_form(event_id):
    if csrf_ok():
        return None
    return render_template("message.html", kind="csrf", event_id=event_id), 400


def _admit(event_id, body):
    try:
        admitted = checkin_api.admit(event_id, body)
    except rules.CheckInRefused as refused:
        whom = refused.registration or {}
        return _page(event_id, status_of(refused), answer=(refused.result, whom.get("name"), None))
    return _page(event_id, answer=(admitted.result, admitted.registration.name,
                                   admitted.checked_in_at))


def _page(event_id, status=200, answer=None, walk_in=None, errors=None):
    """The check-in page; `answer`: (result, name, first check-in) of the last code."""
    personal_answer()
    try:
        event = use_cases.get_event(service().db, event_id)
    except NotFound:
        return render_template("message.html", kind="not_found"), 404
    said = answer and outcome(*answer, ZoneInfo(event.timezone), i18n.language())
    figures = attendance.figures(service().db, event_id, service().clock())
    return render_template("check_in.html", event=event, figures=figures, outcome=said,
                           walk_in=walk_in or {"language": i18n.language()},
                           errors=errors or {}), status


@bp.app_context_processor
def _public_attendance():
    return {"public_attendance": ended_attendance}


def ended_attendance(event):
    """The event's public attendance table once it has ended (no names, no small counts:
    attendance_public), else None."""
    now = service().clock()
    if now < event.ends_at:
        return None
    return attendance_public.table(attendance.figures(service().db, event.id, now),
                                   service().settings.public_count_min)
