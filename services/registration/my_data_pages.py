"""The "Mis datos" / "My data" pages: a person asks for a link with their address (the
answer is always the same), and the link opens, for a day, everything every service holds
about that address, with download (access), correct (rectification), stop (opposition)
and delete (cancellation). Each of these is put on record (arco_log).

Registration's own data is read here; follows and emails come from the notification
service over its ARCO API, never from its database. GET only shows (mail scanners follow
links); the link in the URL is the secret, as with a cancel link.
"""
import functools
import json

from flask import Blueprint, Response, render_template, request
from marshmallow import ValidationError, fields, validate

from services.registration import arco_log, my_data, page_content, privacy
from services.registration.facts import MY_DATA_PURPOSE
from services.registration.notifications_client import NotificationsUnavailable
from services.registration.pages import csrf_ok
from services.registration.schemas import RegistrationSchema
from shared import i18n, signing
from shared.domain_errors import Gone, NotFound
from shared.errors import problem
from shared.ratelimit import limited
from shared.schemas import StrictSchema, email_field
from shared.web import secret_url, service
from shared.wording import LANGUAGES

bp = Blueprint("my_data", __name__, template_folder="templates")
LINK = "/my-data/<token>"
RETRY_AFTER = "60"  # seconds; a notification service that is away is usually back by then
UNAVAILABLE = "failed: the notification service did not answer; nothing was changed"


class AskSchema(StrictSchema):
    email = email_field(required=True)
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES))


_ASK = AskSchema()
# Needs are sensitive data: a correction that gives them asks their own consent, as the form does.
_CORRECTION = RegistrationSchema(only=(*my_data.CORRECTABLE, "accessibility_consent"))


@bp.get("/my-data")
def ask():
    """The form: an address, to which the link goes."""
    return render_template("my_data_ask.html", errors={}, values={})


@bp.post("/my-data")
@limited
def send():
    """Send the link, at most once an hour per address; the same page whatever happened."""
    if not csrf_ok():
        return render_template("my_data_message.html", kind="csrf"), 400
    typed = request.form.get("email", "")
    try:
        asked = _ASK.load({"email": typed.strip(), "language": i18n.language()})
    except ValidationError:
        errors = {"email": page_content.ERRORS["email"][0 if i18n.language() == "es" else 1]}
        return render_template("my_data_ask.html", errors=errors, values={"email": typed}), 422
    my_data.request_link(service().db, asked["email"], asked["language"], service().links,
                         service().clock())
    return render_template("my_data_message.html", kind="sent")


def _owner(token):
    """The link's row (whose data it opens); one of LINK_FAILURES otherwise."""
    link_id = signing.unsign(service().settings.keys, MY_DATA_PURPOSE, token,
                             my_data.LINK_HOURS * 3600)
    return my_data.link_owner(service().db, link_id, service().clock())


LINK_FAILURES = (signing.LinkInvalid, NotFound, Gone)


def _opened(view):
    """The view, given the link's row after its token; the invalid-link page instead when
    the token opens nothing (after the rate limit: a guess costs the guesser first)."""
    @functools.wraps(view)
    def with_link(token):
        try:
            link = _owner(token)
        except LINK_FAILURES as error:
            return _invalid(error)
        return view(token, link)
    return with_link


def _invalid(error):
    """400 tampered or foreign, 410 expired, 404 erased since it was sent."""
    expired = isinstance(error, Gone) or getattr(error, "expired", False)
    status = 404 if isinstance(error, NotFound) else 410 if expired else 400
    return render_template("my_data_message.html", kind="invalid", expired=expired), status


def _on_record(right, email, received_at, outcome=arco_log.DONE, done=True):
    settings = service().settings
    with service().db.transaction() as session:
        return arco_log.record(session, right, arco_log.person(settings.keys, email),
                               received_at, service().clock() if done else None, outcome,
                               settings.arco_response_days)


def _unavailable(right, email, received_at):
    """The page when the notification service cannot answer: nothing changed, and said so."""
    request_id = _on_record(right, email, received_at, UNAVAILABLE, done=False)
    page = render_template("my_data_message.html", kind="unavailable", request_id=request_id)
    return page, 503, {"Retry-After": RETRY_AFTER}


@bp.get(LINK)
@secret_url
@limited
@_opened
def show(token, link):
    """Everything held about the link's address, with what the person can do about it."""
    registrations = privacy.export(service().db, link.email)
    try:
        elsewhere = service().notifications.export(link.email)
    except NotificationsUnavailable:
        elsewhere = None  # the page says so; what registration holds is still shown
    latest = registrations[-1] if registrations else {}
    values = {name: latest.get(name) or "" for name in my_data.CORRECTABLE}
    values["language"] = values["language"] or link.language
    return render_template("my_data.html", token=token, email=link.email,
                           registrations=registrations, elsewhere=elsewhere, values=values,
                           errors={})


@bp.get(LINK + "/data.json")
@secret_url
@limited
@_opened
def download(token, link):
    """Access: everything, as one JSON file."""
    received_at = service().clock()
    try:
        elsewhere = service().notifications.export(link.email)
    except NotificationsUnavailable:
        request_id = _on_record(arco_log.ACCESS, link.email, received_at, UNAVAILABLE, done=False)
        return problem(503, f"The notification service did not answer; try again (request "
                            f"{request_id}).", headers={"Retry-After": RETRY_AFTER})
    request_id = _on_record(arco_log.ACCESS, link.email, received_at)
    held = {"request_id": request_id, "email": link.email,
            "registration": privacy.export(service().db, link.email), "notifications": elsewhere}
    return Response(json.dumps(held, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="mis-datos.json"'})


@bp.post(LINK + "/correct")
@secret_url
@limited
@_opened
def correct(token, link):
    """Rectification: name, organisation, accessibility needs and language, everywhere."""
    received_at = service().clock()
    typed = {name: request.form.get(name, "") for name in my_data.CORRECTABLE}
    if "accessibility_consent" in request.form:  # a checkbox: absent when not ticked
        typed["accessibility_consent"] = request.form["accessibility_consent"]
    try:
        changes = _CORRECTION.load(typed)
    except ValidationError as error:
        errors = page_content.form_errors(error.messages, i18n.language())
        page = render_template("my_data.html", token=token, email=link.email,
                               registrations=privacy.export(service().db, link.email),
                               elsewhere=None, values=typed, errors=errors)
        return page, 422
    try:
        service().notifications.set_preferences(link.email, language=changes["language"])
    except NotificationsUnavailable:
        return _unavailable(arco_log.RECTIFICATION, link.email, received_at)
    my_data.correct(service().db, link.email, changes, received_at)
    request_id = _on_record(arco_log.RECTIFICATION, link.email, received_at)
    return render_template("my_data_message.html", kind="corrected", token=token,
                           request_id=request_id)


@bp.post(LINK + "/stop")
@secret_url
@limited
@_opened
def stop(token, link):
    """Opposition: no email but what an active registration needs (or, again, every email)."""
    received_at = service().clock()
    opposed = request.form.get("opposed", "yes") != "no"
    try:
        service().notifications.set_preferences(link.email, opposed=opposed)
    except NotificationsUnavailable:
        return _unavailable(arco_log.OPPOSITION, link.email, received_at)
    request_id = _on_record(arco_log.OPPOSITION, link.email, received_at,
                            arco_log.DONE if opposed else "withdrawn")
    return render_template("my_data_message.html", kind="stopped" if opposed else "resumed",
                           token=token, request_id=request_id)


@bp.get(LINK + "/delete")
@secret_url
@limited
@_opened
def confirm_delete(token, link):
    """What deleting means, with the button that does it; changes nothing."""
    return render_template("my_data_delete.html", token=token)


@bp.post(LINK + "/delete")
@secret_url
@limited
@_opened
def delete(token, link):
    """Cancellation: everything every service holds about the address; seats go to the
    people waiting. The notification service first: if it cannot, nothing is erased."""
    received_at = service().clock()
    try:
        service().notifications.erase(link.email)
    except NotificationsUnavailable:
        return _unavailable(arco_log.CANCELLATION, link.email, received_at)
    my_data.erase(service().db, service().bus, link.email, service().links,
                  service().clock())
    request_id = _on_record(arco_log.CANCELLATION, link.email, received_at)
    return render_template("my_data_message.html", kind="deleted", request_id=request_id)
