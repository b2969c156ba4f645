"""The commitment page's follow form lands here: a plain HTML POST, answered with a page.

It runs the same use case as `POST /api/v1/subscriptions` (same schema, same
`subscriptions.follow`) and answers the same page whatever the address's
state, so nobody learns who follows what.

No CSRF token: the form is posted cross-site from the commitments service's page, and all
it can do is start a double opt-in — nothing happens until the mailbox's owner clicks the
confirmation link, and the hourly cap of opt-in emails per address stops mail-bombing.
"""
import logging

from flask import Blueprint, render_template_string, request
from marshmallow import ValidationError

from services.notifications.pipeline import subscriptions
from services.notifications.web.subscriptions_api import RETRY_AFTER, SubscriptionRequestSchema
from shared.commitments_client import CommitmentsUnavailable, UnknownCommitment
from shared.ratelimit import limited
from shared.web import service

log = logging.getLogger(__name__)
bp = Blueprint("follow_page", __name__)
_REQUEST = SubscriptionRequestSchema()  # made once: making a schema costs more than a load

PAGE = """{% extends "pages/base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<h1>{{ heading_es }}</h1>
{% for line in es %}<p>{{ line }}</p>{% endfor %}
<div class="en" lang="en">
<h2>{{ heading_en }}</h2>
{% for line in en %}<p>{{ line }}</p>{% endfor %}
</div>
{% endblock %}"""


def _page(status, heading_es, heading_en, es=(), en=(), headers=None):
    body = render_template_string(PAGE, title=f"{heading_es} / {heading_en}", heading_es=heading_es,
                                  heading_en=heading_en, es=es, en=en,
                                  topic=_valid_topic())  # the way back to the commitment
    return body, status, headers or {}


def _valid_topic():
    topic = request.form.get("topic", "")
    return topic if subscriptions.topic_commitment(topic) else None


@bp.post("/follow")
@limited
def follow():
    """Ask to follow a commitment from its page: an email asks to confirm."""
    form = {name: request.form[name] for name in ("email", "topic", "language")
            if name in request.form}
    try:
        fields = _REQUEST.load(form)
    except ValidationError as error:
        messages = [f"{name}: {' '.join(map(str, problems))}"
                    for name, problems in error.normalized_messages().items()]
        return _page(422, "Revisa los datos", "Please check the form",
                     ["No pudimos aceptar la solicitud. Vuelve atrás y corrige:", *messages],
                     ["We could not accept the request. Go back and correct:", *messages])
    try:
        service().follow(fields["email"], fields["topic"], fields["language"])
    except UnknownCommitment:
        return _page(422, "Ese compromiso no existe", "That commitment does not exist",
                     ["No hay ningún compromiso con ese número."],
                     ["There is no commitment with that number."])
    except CommitmentsUnavailable as error:
        log.warning("commitments service unavailable (%s); subscription not saved", error)
        return _page(503, "Inténtalo más tarde", "Please try again later",
                     ["No podemos comprobar ese compromiso ahora; no se guardó nada."],
                     ["We cannot check that commitment right now; nothing was saved."],
                     headers={"Retry-After": RETRY_AFTER})
    return _page(200, "Revisa tu correo para confirmar", "Check your email to confirm",
                 ["Si la dirección es correcta, te enviamos un correo con un enlace para "
                  "confirmar. Los avisos empiezan solo después de confirmar."],
                 ["If the address is right, we sent you an email with a link to confirm. "
                  "Alerts start only after you confirm."])
