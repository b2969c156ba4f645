"""Thin Celery tasks that take ids; sending twice is prevented by each delivery's state."""
import logging
import time

from services.notifications import deliveries, emails, runtime, subscriptions
from services.notifications.celery_app import app
from services.notifications.commitments import CommitmentsUnavailable, UnknownCommitment
from services.notifications.mailer import PermanentMailError, TransientMailError
from shared.db import utcnow

log = logging.getLogger(__name__)
CHUNK = 50  # deliveries per task: few broker messages for a large fan-out, short tasks still


@app.task(name="notifications.send_deliveries")
def send_deliveries(delivery_ids):
    """Send a chunk of deliveries one by one; what time does not allow goes back to the queue."""
    # Stop starting sends well before the soft time limit, so no send is cut off mid-way.
    deadline = time.monotonic() + (app.conf.task_soft_time_limit or 45) / 2
    outcomes = []
    for position, delivery_id in enumerate(delivery_ids):
        if position and time.monotonic() > deadline:
            enqueue(delivery_ids[position:])
            break
        outcomes.append(send_delivery(delivery_id))
    return outcomes


def send_delivery(delivery_id):
    """Send one delivery if it is still to be sent (its row is claimed first); record how it went."""
    db, settings = runtime.db(), runtime.settings()
    with db.transaction() as session:
        delivery = deliveries.claim(session, delivery_id, utcnow())
        if delivery is not None and not subscriptions.still_following(session, delivery):
            deliveries.withdraw(session, delivery, "the follower unsubscribed first", utcnow())
            return "withdrawn"
    if delivery is None:
        return "skipped"
    message = emails.build(delivery.kind, delivery.context, mail_from=settings.mail_from,
                           message_id=delivery.message_id,
                           commitments=related_commitments(delivery, runtime.commitments()))
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


def related_commitments(delivery, commitments):
    """The commitments a registration email's event reports on, as they stand now.

    All or nothing: if one cannot be read the email goes without the block, and the first
    failure stops the lookups, so a commitments service that is away costs one timeout.
    """
    if delivery.kind not in emails.WITH_COMMITMENTS:
        return []
    ids = delivery.context["event"].get("related_commitments") or []
    try:
        return [commitments.get(commitment_id) for commitment_id in ids]
    except (UnknownCommitment, CommitmentsUnavailable) as error:
        log.warning("delivery %s goes without its related commitments: %s: %s", delivery.id,
                    type(error).__name__, error)
        return []


def enqueue(delivery_ids, send=None):
    """Hand deliveries to the workers, CHUNK ids per task (raises if the broker is unreachable)."""
    send = send or send_deliveries.delay
    delivery_ids = list(delivery_ids)
    for start in range(0, len(delivery_ids), CHUNK):
        send(delivery_ids[start:start + CHUNK])
