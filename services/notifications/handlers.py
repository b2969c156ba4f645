"""What happens when X? The map from each event type to the emails it sends."""
from services.notifications import deliveries

EMAILS = {
    "registration.confirmed": ["registration_confirmed"],
    "registration.waitlisted": ["registration_waitlisted"],
    "registration.promoted": ["registration_promoted"],
    "registration.cancelled": ["registration_cancelled"],
}


def recipients(envelope):
    """Who an event is addressed to: for `registration.*`, the attendee."""
    return [envelope["data"]["registration"]["email"]]


def handle(db, envelope, now, lease, mail_domain):
    """Record the deliveries an event asks for (idempotently); return the ids still to send."""
    to_send = []
    with db.transaction() as session:
        for kind in EMAILS.get(envelope["type"], []):
            for recipient in recipients(envelope):
                delivery = deliveries.record(session, envelope, kind, recipient,
                                             envelope["data"], now, lease, mail_domain)
                if delivery.state == deliveries.QUEUED:
                    to_send.append(delivery.id)
    return to_send
