"""ARCO rights over notifications' data: the emails kept for an address (their context copies the
attendee's or follower's address), the webhook calls that carried it to municipal systems,
and the topics it follows, shown or erased."""
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update

from services.notifications.models import Delivery, Subscription, WebhookEndpoint
from services.notifications.pipeline import deliveries, mailcap, naming, subscriptions, tombstones
from services.notifications.pipeline.consumer import DEAD_LETTERS
from services.notifications.webhooks import recording as webhook_recording
from shared.bus import mentioning
from shared.schemas import normalize_email


ERASED = "the person it names was erased"


def _addressed_to(email):
    return func.lower(Delivery.recipient) == email.strip().lower()


def _iso(value):
    return value.isoformat() if value is not None else None


def export(db, email):
    """The deliveries addressed to this email, oldest first, as plain dicts."""
    with db.transaction() as session:
        rows = session.scalars(select(Delivery).where(_addressed_to(email))
                               .order_by(Delivery.created_at, Delivery.id)).all()
    return [{
        "id": row.id, "kind": row.kind, "status": deliveries.PUBLIC_STATUS[row.state],
        "state": row.state, "created_at": _iso(row.created_at), "sent_at": _iso(row.sent_at),
        "subject": row.subject, "content": row.context,  # what the email was made from
    } for row in rows]


def _naming(keys, email):
    """The webhook calls whose payload names the address (recording.person), kept in clear
    or, once scrubbed, as a keyed hash (naming.py)."""
    return (Delivery.kind == webhook_recording.KIND,
            Delivery.mailbox_key.in_(naming.forms(keys, mailcap.mailbox_key(email))))


def export_webhook_calls(db, keys, email):
    """The webhook calls whose payload named this address, oldest first, as plain dicts: the
    municipal system's endpoint each went (or was to go) to, and the payload while kept."""
    with db.transaction() as session:
        rows = session.execute(
            select(Delivery, WebhookEndpoint)
            .outerjoin(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
            .where(*_naming(keys, email)).order_by(Delivery.created_at, Delivery.id)).all()
    return [{
        "id": row.id, "event_type": row.cloudevent_type,
        "status": deliveries.PUBLIC_STATUS[row.state], "state": row.state,
        "created_at": _iso(row.created_at), "sent_at": _iso(row.sent_at),
        "endpoint": _endpoint(row.endpoint_id, endpoint),
        "content": row.context,  # what was sent; {} once scrubbed (DELIVERY_CONTEXT_DAYS)
    } for row, endpoint in rows]


def _endpoint(endpoint_id, endpoint):
    """Who received it: the system's name and site, not the URL's path or query, which may
    hold the integrator's own credentials."""
    if endpoint is None:
        return {"id": endpoint_id, "deleted": True}
    parts = urlsplit(endpoint.url)
    return {"id": endpoint.id, "system": endpoint.created_by, "description": endpoint.description,
            "site": f"{parts.scheme}://{parts.netloc}"}


def _without_answers(history):
    """A delivery's history (retries, replays) without the receiver's answers it quoted."""
    return [{**entry, "last_error": ERASED} if entry.get("last_error") else entry
            for entry in history] if history else history


def export_subscriptions(db, email):
    """The topics this email follows, asked to follow or left, oldest first, as plain dicts."""
    with db.transaction() as session:
        rows = session.scalars(select(Subscription).where(
            Subscription.email_key == normalize_email(email))
            .order_by(Subscription.id)).all()
    return [{
        "id": row.id, "email": row.email, "topic": row.topic, "language": row.language,
        "status": row.status, "created_at": _iso(row.created_at),
        "confirmed_at": _iso(row.confirmed_at), "cancelled_at": _iso(row.cancelled_at),
    } for row in rows]


def erase(db, bus, keys, email, now):
    """Erase an address everywhere notifications keeps it; return how many records went.

    The address is marked erased (a tombstone), so that facts about it already on the bus
    or in a consumer's hands email nobody; then its subscriptions, the emails kept for it
    (sent or not, with their stored content), the webhook payloads naming it and the dead
    letters that mention it go. On
    PostgreSQL the tombstone takes the mailbox's lock the consumer takes to record an
    email: a delivery being recorded meanwhile is committed first, and deleted here.
    """
    with db.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            deliveries.lock_mailboxes(session, [mailcap.mailbox_key(email)])
        tombstones.lay(session, email, now)
        left = subscriptions.erase(session, normalize_email(email), now)
        sent = session.execute(delete(Delivery).where(_addressed_to(email)),
                               execution_options={"synchronize_session": False}).rowcount
        calls = forget_in_webhooks(session, keys, email, now)
    return sent + left + calls + bus.forget(DEAD_LETTERS, mentioning(email))


def forget_in_webhooks(session, keys, email, now):
    """Webhook calls whose payload names the address: those not sent yet are withdrawn, and
    every stored payload is emptied (the delivery log keeps that a call was made, not whom
    it was about). What an integrator already received is theirs to erase."""
    named = _naming(keys, email)
    session.execute(update(Delivery).where(*named, Delivery.state.in_(deliveries.SENDABLE))
                    .values(state=deliveries.WITHDRAWN, state_changed_at=now),
                    execution_options={"synchronize_session": False})
    # The receiver's answers go too (a 422 often quotes the fields it refused), and the
    # address the rows were found by: after this, nothing in them leads back to the person.
    rows = session.execute(select(Delivery.id, Delivery.history).where(*named)).all()
    for delivery_id, history in rows:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
            context={}, context_scrubbed_at=func.coalesce(Delivery.context_scrubbed_at, now),
            last_error=ERASED, mailbox_key=None, history=_without_answers(history)),
            execution_options={"synchronize_session": False})
    return len(rows)
