"""ARCO rights over notifications' data: the emails kept for an address (their context copies the
attendee's or follower's address) and the topics it follows, shown or erased."""
from sqlalchemy import delete, func, select, update

from services.notifications.models import Delivery, Subscription
from services.notifications.pipeline import deliveries, mailcap, subscriptions, tombstones
from services.notifications.pipeline.consumer import DEAD_LETTERS
from services.notifications.webhooks import recording as webhook_recording
from shared.bus import mentioning
from shared.schemas import normalize_email


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


def erase(db, bus, email, now):
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
        calls = forget_in_webhooks(session, email, now)
    return sent + left + calls + bus.forget(DEAD_LETTERS, mentioning(email))


def forget_in_webhooks(session, email, now):
    """Webhook calls whose payload names the address: those not sent yet are withdrawn, and
    every stored payload is emptied (the delivery log keeps that a call was made, not whom
    it was about). What an integrator already received is theirs to erase."""
    naming = (Delivery.kind == webhook_recording.KIND,
              Delivery.mailbox_key == mailcap.mailbox_key(email))
    session.execute(update(Delivery).where(*naming, Delivery.state.in_(deliveries.SENDABLE))
                    .values(state=deliveries.WITHDRAWN, state_changed_at=now,
                            last_error="the person it names was erased"),
                    execution_options={"synchronize_session": False})
    return session.execute(update(Delivery).where(*naming, Delivery.context_scrubbed_at.is_(None))
                           .values(context={}, context_scrubbed_at=now),
                           execution_options={"synchronize_session": False}).rowcount
