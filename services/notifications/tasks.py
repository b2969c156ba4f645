"""Thin Celery tasks that take ids; sending twice is prevented by each delivery's state."""
import logging
import math
import time

from services.notifications import deliveries, emails, runtime, subscriptions
from services.notifications.celery_app import app
from services.notifications.commitments import CommitmentsUnavailable, UnknownCommitment
from services.notifications.mailer import PermanentMailError, TransientMailError
from services.notifications.models import Delivery
from shared.db import utcnow

log = logging.getLogger(__name__)
CHUNK = 50  # deliveries per task: few broker messages for a large fan-out, short tasks still
SHARE_FROM = 10  # a task of fewer is not split: the second task would cost more than it saves


@app.task(name="notifications.send_deliveries")
def send_deliveries(delivery_ids):
    """Claim a chunk of deliveries in one transaction, then send and record them one by one.

    Alerts whose follower left meanwhile are withdrawn; what time does not allow is given
    back and goes to the queue again.
    """
    # Stop starting sends well before the soft time limit, so no send is cut off mid-way.
    deadline = time.monotonic() + (app.conf.task_soft_time_limit or 45) / 2
    db, now = runtime.db(), utcnow()
    with db.writing() as connection:
        claimed = deliveries.claim(connection, delivery_ids, now)
        leaving = subscriptions.unfollowed(connection, claimed)
        if leaving:
            deliveries.withdraw(connection, leaving, "the follower unsubscribed first", now)
    to_send = [delivery for delivery in claimed if delivery.id not in leaving]
    outcomes = []
    for position, delivery in enumerate(to_send):
        if position and time.monotonic() > deadline:
            rest = [later.id for later in to_send[position:]]
            deliveries.release(db, rest, utcnow())
            enqueue(rest)
            break
        outcomes.append(send_delivery(delivery))
    return outcomes


def send_delivery(delivery):
    """Send one claimed delivery and record how it went."""
    db, settings = runtime.db(), runtime.settings()
    try:
        message = emails.build(delivery.kind, delivery.context, mail_from=settings.mail_from,
                               message_id=delivery.message_id,
                               commitments=related_commitments(delivery, runtime.commitments()))
        with deliveries.recording_sent(db, delivery.id):
            runtime.mailer().send(message, delivery.recipient)
    except (TransientMailError, PermanentMailError) as error:
        return _failed(db, settings, delivery, str(error), isinstance(error, PermanentMailError))
    except Exception as error:  # data it cannot be built from: retrying would not help
        log.exception("delivery %s could not be built", delivery.id)
        return _failed(db, settings, delivery, f"not built: {type(error).__name__}", permanent=True)
    log.info("delivery %s sent (%s)", delivery.id, delivery.kind)
    return "sent"


def _failed(db, settings, delivery, reason, permanent):
    with db.transaction() as session:
        delivery = session.get(Delivery, delivery.id)
        state = deliveries.mark_failed_attempt(session, delivery, reason, permanent, utcnow(),
                                               settings.retry_delays)
    log.warning("delivery %s attempt %s -> %s", delivery.id, delivery.attempts, state)  # no reason: it may quote an address
    return state


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
    """Hand deliveries to the workers (raises if the broker is unreachable): at most CHUNK
    ids per task, and few enough per task that every worker process gets a share."""
    send = send or send_deliveries.delay
    delivery_ids = list(delivery_ids)
    share = math.ceil(len(delivery_ids) / app.conf.worker_concurrency)
    size = min(CHUNK, max(SHARE_FROM, share))
    for start in range(0, len(delivery_ids), size):
        send(delivery_ids[start:start + size])
