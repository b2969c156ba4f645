"""The pages a follower's links open: GET only shows (mail scanners follow links), POST acts."""
from flask import Blueprint, render_template

from services.notifications.mail.links import CONFIRM, UNSUBSCRIBE
from services.notifications.pipeline import subscriptions
from shared import signing
from shared.commitments_client import CommitmentsUnavailable, UnknownCommitment
from shared.domain_errors import NotFound
from shared.ratelimit import limited
from shared.web import secret_url, service

bp = Blueprint("pages", __name__, template_folder="templates")


def _open(purpose, token, use_case):
    """Run `use_case(db, subscription_id)` for a link; (subscription, None) or (None, error page)."""
    try:
        subscription_id = service().links.subscription_id(purpose, token)
        return use_case(service().db, subscription_id), None
    except signing.LinkInvalid as error:  # 400 tampered or foreign, 410 expired
        page = render_template("pages/link_invalid.html", expired=error.expired,
                               leaving=purpose == UNSUBSCRIBE)
        return None, (page, 410 if error.expired else 400)
    except NotFound:  # erased (ARCO) since the email went out
        page = render_template("pages/link_invalid.html", expired=False, leaving=False)
        return None, (page, 404)


def _commitment(subscription):
    """The followed commitment's number and title for the page, or None if it cannot be had."""
    try:
        return service().commitments.get(
            subscriptions.topic_commitment(subscription.topic))
    except (UnknownCommitment, CommitmentsUnavailable):
        return None  # the page still works; it names the commitment by its id


@bp.get("/subscriptions/confirm/<token>")
@secret_url
@limited
def confirm_page(token):
    """Show what confirming means, with a button; changes nothing."""
    subscription, error = _open(CONFIRM, token, subscriptions.get)
    return error or render_template("pages/confirm.html", subscription=subscription,
                                    commitment=_commitment(subscription))


@bp.post("/subscriptions/confirm/<token>")
@secret_url
@limited
def confirm(token):
    """Confirm the subscription: alerts start."""
    subscription, error = _open(CONFIRM, token, lambda db, subscription_id: subscriptions.confirm(
        db, subscription_id, service().clock()))
    return error or render_template("pages/confirmed.html", subscription=subscription)


@bp.get("/subscriptions/unsubscribe/<token>")
@secret_url
@limited
def unsubscribe_page(token):
    """Show a button that stops the alerts; changes nothing."""
    subscription, error = _open(UNSUBSCRIBE, token, subscriptions.get)
    return error or render_template("pages/unsubscribe.html", subscription=subscription,
                                    commitment=_commitment(subscription))


# Not rate limited: RFC 8058 one-click POSTs come from mailbox providers' servers, with many
# followers behind one address, and a refused unsubscribe would keep mailing people who left.
@bp.post("/subscriptions/unsubscribe/<token>")
@secret_url
def unsubscribe(token):
    """Stop the alerts: the page's button, or a mail client's RFC 8058 one-click POST."""
    # The body (`List-Unsubscribe=One-Click`, or nothing) adds nothing: the token says who.
    subscription, error = _open(UNSUBSCRIBE, token, lambda db, subscription_id: (
        subscriptions.unsubscribe(db, subscription_id, service().clock())))
    return error or render_template("pages/unsubscribed.html", subscription=subscription)
