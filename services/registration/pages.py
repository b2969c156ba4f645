"""The page a cancellation link opens: GET shows (mail scanners follow links), POST cancels."""
from flask import Blueprint, render_template, request

from services.registration import service as use_cases
from services.registration.facts import CANCEL_PURPOSE
from shared import signing
from shared.ratelimit import limited
from shared.web import service

bp = Blueprint("pages", __name__, template_folder="templates")
LINK_MAX_AGE = 400 * 24 * 3600  # a year and a bit: registration can open long before the event


def _registration_id(token):
    return signing.unsign(service().settings.secret_key, CANCEL_PURPOSE, token, LINK_MAX_AGE)


@bp.route("/registrations/cancel/<token>", methods=["GET", "POST"])
@limited
def cancel(token):
    """Show the registration with a cancel button; the button's POST cancels it."""
    try:
        registration_id = _registration_id(token)
        if request.method == "POST":
            registration, event = use_cases.cancel(
                service().db, registration_id, service().extra["links"], service().clock())
            return render_template("cancelled.html", registration=registration, event=event)
        registration, event = use_cases.cancellation_view(service().db, registration_id)
    except signing.LinkInvalid as error:
        return render_template("link_invalid.html", expired=error.expired), 410 if error.expired else 400
    except use_cases.NotFound:
        return render_template("link_invalid.html", expired=False), 404
    except use_cases.domain.RegistrationClosed:
        return render_template("link_invalid.html", over=True), 409
    return render_template("cancel.html", registration=registration, event=event)
