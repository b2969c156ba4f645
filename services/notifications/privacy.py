"""ARCO rights over notifications' data: the emails kept for an address (their context copies the
attendee's name and email), shown or erased."""
from sqlalchemy import delete, func, select

from services.notifications import deliveries
from services.notifications.models import Delivery


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


def erase(db, email):
    """Delete the deliveries addressed to this email; return how many."""
    with db.transaction() as session:
        return session.execute(delete(Delivery).where(_addressed_to(email)),
                               execution_options={"synchronize_session": False}).rowcount
