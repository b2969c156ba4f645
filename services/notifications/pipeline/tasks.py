"""Sending, top-down: a task takes delivery ids, claims those still to send, and for each one
builds the email (its kind renders it) or the webhook call, sends it and records how it went. Sending twice is
prevented by each delivery's state."""
import logging
import math
import time

from redis.exceptions import RedisError

from services.notifications.celery_app import app
from services.notifications.mail import compose, kinds
from services.notifications.mail.mailer import PermanentMailError, TransientMailError
from services.notifications.models import Delivery
from services.notifications.pipeline import deliveries, subscriptions, unrecorded
from services.notifications.webhooks import delivering as webhook_delivery
from services.notifications.webhooks import recording as webhooks
from shared import outages
from shared.commitments_client import CommitmentsUnavailable, UnknownCommitment
from shared.db import utcnow

log = logging.getLogger(__name__)
CHUNK = 50  # deliveries per task: few broker messages for a large fan-out, short tasks still
SHARE_FROM = 10  # a task of fewer is not split: the second task would cost more than it saves
# This worker process's collaborators (wiring.Notifications), made when the worker starts.
collaborators = None


@app.task(name="notifications.send_deliveries")
def send_deliveries(delivery_ids):
    """Claim a chunk of deliveries in one transaction, then send and record them one by one.

    What time does not allow is given back and goes to the queue again. While the database
    is away the claim is tried again, with backoff, for as long as time allows; after that
    the rows wait, queued, for the sweeper (their lease, DELIVERY_STALE_AFTER).
    """
    # Stop starting sends well before the soft time limit, so no send is cut off mid-way.
    deadline = time.monotonic() + (app.conf.task_soft_time_limit or 45) / 2
    worker = collaborators
    to_send = claim_when_answering(worker.db, delivery_ids, deadline)
    if not to_send:
        return []
    outcomes = []
    with deliveries.held_connection(worker.db) as held:
        for position, delivery in enumerate(to_send):
            if position and time.monotonic() > deadline:
                give_back([later.id for later in to_send[position:]], worker.db)
                break
            outcomes.append(send_one(worker, delivery, held))
            if outcomes[-1] == DATABASE_AWAY:  # the rest stay claimed: the sweeper retries them
                break
    return outcomes


DATABASE_AWAY = "database_away"
# This process's view of a database outage: one line when it begins, one when it ends.
database = outages.Outage("the database", log)


def claim_when_answering(db, delivery_ids, deadline):
    """claim(), tried again with backoff while the database is away, until `deadline`;
    nothing if it is still away then (the rows stay queued for the sweeper)."""
    while True:
        try:
            claimed = claim(db, delivery_ids)
        except Exception as error:
            if not outages.database_away(error):
                raise
            wait = database.failed(error)
            if time.monotonic() + wait > deadline:
                return []
            time.sleep(wait)
            continue
        database.recovered()
        return claimed


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


def send_one(worker, delivery, held=None):
    """Send one claimed delivery, an email or a webhook call, and record how it went (an
    email's `sent` on `held`, the task's connection: deliveries.held_connection); the same
    outage handling for both: sent but not recorded is noted in Redis, anything else the
    database could not take leaves the row claimed, for the sweeper."""
    try:
        if delivery.kind == webhooks.KIND:
            return webhook_delivery.send(worker, delivery, enqueue)
        return send_email(worker, delivery, held)
    except deliveries.SentNotRecorded as error:
        return sent_while_away(worker, error)
    except Exception as error:
        if not outages.database_away(error):
            raise
        database.failed(error)  # not sent; still claimed, so retried once stale
        return DATABASE_AWAY


def send_email(worker, delivery, held=None):
    """Build one claimed delivery's email, send it and record how it went."""
    try:
        message = build(worker, delivery)
        with deliveries.recording_sent(worker.db, delivery.id, held):
            worker.mailer.send(message, delivery.recipient)
    except (TransientMailError, PermanentMailError) as error:
        return record_failure(worker, delivery, str(error), isinstance(error, PermanentMailError))
    except Exception as error:
        if outages.database_away(error) or isinstance(error, deliveries.SentNotRecorded):
            raise  # send_one's to handle, as for a webhook call
        # Data it cannot be built from: retrying would not help.
        log.exception("delivery %s could not be built", delivery.id)
        return record_failure(worker, delivery, f"not built: {type(error).__name__}",
                              permanent=True)
    log.info("delivery %s sent (%s)", delivery.id, delivery.kind)
    return "sent"


def sent_while_away(worker, error):
    """The email (or webhook call) went but the database did not take it: Redis keeps that
    until the sweeper can write it down, so the row is not called stuck and sent again."""
    database.failed(error.__cause__)
    try:
        unrecorded.remember(worker.bus.redis, error.delivery_id, error.status_code)
    except RedisError:
        log.error("delivery %s was sent, but neither the database nor Redis could record it; "
                  "the sweeper will send it again", error.delivery_id)
    return "sent"


def build(worker, delivery):
    """The message of one delivery, as its kind words it."""
    return compose.build(delivery.kind, delivery.context, mail_from=worker.settings.mail_from,
                         message_id=delivery.message_id,
                         commitments=related_commitments(delivery, worker.commitments),
                         my_data_url=worker.my_data_url, uid_domain=worker.uid_domain)


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
    try:
        with worker.db.transaction() as session:
            delivery = session.get(Delivery, delivery.id)
            state = deliveries.mark_failed_attempt(session, delivery, reason, permanent,
                                                   utcnow(), worker.settings.retry_delays)
    except Exception as error:
        if not outages.database_away(error):
            raise
        database.failed(error)  # still claimed: the sweeper retries it once stale
        return DATABASE_AWAY
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
