"""Thin Celery tasks that take ids; sending twice is prevented by the delivery's state."""
import logging

from services.notifications import deliveries, emails, runtime
from services.notifications.celery_app import app
from services.notifications.mailer import PermanentMailError, TransientMailError
from shared.db import utcnow

log = logging.getLogger(__name__)


@app.task(name="notifications.send_delivery")
def send_delivery(delivery_id):
    """Send one delivery if it is still to be sent; record the outcome."""
    db, settings = runtime.db(), runtime.settings()
    with db.transaction() as session:
        delivery = deliveries.claim(session, delivery_id, utcnow())
    if delivery is None:
        return "skipped"
    message = emails.build(delivery.kind, delivery.context, mail_from=settings.mail_from,
                           message_id=delivery.message_id)
    try:
        with deliveries.recording_sent(db, delivery_id):
            runtime.mailer().send(message)
    except (TransientMailError, PermanentMailError) as error:
        with db.transaction() as session:
            delivery = session.merge(delivery)
            state = deliveries.mark_failed_attempt(
                session, delivery, str(error), isinstance(error, PermanentMailError),
                utcnow(), settings.retry_delays)
        log.warning("delivery %s attempt %s: %s -> %s", delivery_id, delivery.attempts,
                    type(error).__name__, state)
        return state
    log.info("delivery %s sent (%s)", delivery_id, delivery.kind)
    return "sent"


def enqueue(delivery_ids):
    """Hand deliveries to the workers (raises if the broker is unreachable)."""
    for delivery_id in delivery_ids:
        send_delivery.delay(delivery_id)
