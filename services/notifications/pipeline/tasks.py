"""Sending, top-down: a task takes delivery ids, claims those still to send, and for each one
builds the email (its kind renders it) or the webhook call, sends it and records how it went. Sending twice is
prevented by each delivery's state."""
import logging
import math
import time

from services.notifications.celery_app import app
from services.notifications.commitments_client import CommitmentsUnavailable, UnknownCommitment
from services.notifications.mail import compose, kinds
from services.notifications.mail.mailer import PermanentMailError, TransientMailError
from services.notifications.models import Delivery
from services.notifications.pipeline import deliveries, subscriptions
from services.notifications.webhooks import delivering as webhook_delivery
from services.notifications.webhooks import recording as webhooks
from shared.db import utcnow

log = logging.getLogger(__name__)
CHUNK = 50  # deliveries per task: few broker messages for a large fan-out, short tasks still
SHARE_FROM = 10  # a task of fewer is not split: the second task would cost more than it saves
# This worker process's collaborators (wiring.Notifications), made when the worker starts.
collaborators = None


@app.task(name="notifications.send_deliveries")
def send_deliveries(delivery_ids):
    """Claim a chunk of deliveries in one transaction, then send and record them one by one.

    What time does not allow is given back and goes to the queue again.
    """
    # Stop starting sends well before the soft time limit, so no send is cut off mid-way.
    deadline = time.monotonic() + (app.conf.task_soft_time_limit or 45) / 2
    worker = collaborators
    to_send = claim(worker.db, delivery_ids)
    outcomes = []
    for position, delivery in enumerate(to_send):
        if position and time.monotonic() > deadline:
            give_back([later.id for later in to_send[position:]], worker.db)
            break
        outcomes.append(send_one(worker, delivery))
    return outcomes


def claim(db, delivery_ids):
    """The rows of `delivery_ids` still to send, now this task's; alerts whose follower
    left meanwhile are withdrawn instead."""
    now = utcnow()
    with db.writing() as connection:
        claimed = deliveries.claim(connection, delivery_ids, now)
        leaving = subscriptions.unfollowed(connection, claimed)
        if leaving:
            deliveries.withdraw(connection, leaving, "the follower unsubscribed first", now)
    return [delivery for delivery in claimed if delivery.id not in leaving]


def send_one(worker, delivery):
    """Build one claimed delivery's email (or webhook call), send it and record how it went."""
    if delivery.kind == webhooks.KIND:
        return webhook_delivery.send(worker, delivery, enqueue)
    try:
        message = build(worker, delivery)
        with deliveries.recording_sent(worker.db, delivery.id):
            worker.mailer.send(message, delivery.recipient)
    except (TransientMailError, PermanentMailError) as error:
        return record_failure(worker, delivery, str(error), isinstance(error, PermanentMailError))
    except Exception as error:  # data it cannot be built from: retrying would not help
        log.exception("delivery %s could not be built", delivery.id)
        return record_failure(worker, delivery, f"not built: {type(error).__name__}",
                              permanent=True)
    log.info("delivery %s sent (%s)", delivery.id, delivery.kind)
    return "sent"


def build(worker, delivery):
    """The message of one delivery, as its kind words it."""
    return compose.build(delivery.kind, delivery.context, mail_from=worker.settings.mail_from,
                         message_id=delivery.message_id,
                         commitments=related_commitments(delivery, worker.commitments),
                         my_data_url=worker.my_data_url)


def related_commitments(delivery, commitments):
    """The commitments a registration email's event reports on, as they stand now.

    All or nothing: if one cannot be read the email goes without the block, and the first
    failure stops the lookups, so a commitments service that is away costs one timeout.
    """
    ids = kinds.get(delivery.kind).related_commitments(delivery.context)
    try:
        return [commitments.get(commitment_id) for commitment_id in ids]
    except (UnknownCommitment, CommitmentsUnavailable) as error:
        log.warning("delivery %s goes without its related commitments: %s: %s", delivery.id,
                    type(error).__name__, error)
        return []


def record_failure(worker, delivery, reason, permanent):
    """A retry later, or `failed` for good; the new state."""
    with worker.db.transaction() as session:
        delivery = session.get(Delivery, delivery.id)
        state = deliveries.mark_failed_attempt(session, delivery, reason, permanent, utcnow(),
                                               worker.settings.retry_delays)
    log.warning("delivery %s attempt %s -> %s", delivery.id, delivery.attempts, state)  # no reason: it may quote an address
    return state


def give_back(delivery_ids, db):
    """Claimed rows this task has no time left to try: to the queue again."""
    deliveries.release(db, delivery_ids, utcnow())
    enqueue(delivery_ids)


def enqueue(delivery_ids, send=None):
    """Hand deliveries to the workers (raises if the broker is unreachable): at most CHUNK
    ids per task, and few enough per task that every worker process gets a share."""
    send = send or send_deliveries.delay
    delivery_ids = list(delivery_ids)
    share = math.ceil(len(delivery_ids) / app.conf.worker_concurrency)
    size = min(CHUNK, max(SHARE_FROM, share))
    for start in range(0, len(delivery_ids), size):
        send(delivery_ids[start:start + size])
