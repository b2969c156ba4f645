"""Emails the mail server took (and webhook calls a receiver answered 2xx) whose `sent` could
not be written, as the database went away between the answer and the commit: their ids wait
in Redis, and the sweeper writes them down before it would call their rows stale and send
them again. A webhook call's note keeps the status code it was answered with, so its row
shows it (`last_status_code`) as a call recorded at once would."""
from sqlalchemy import select, update

from services.notifications.models import Delivery, WebhookEndpoint
from services.notifications.pipeline import deliveries

KEY = "abierto.notifications.sent-unrecorded"  # a set of delivery ids
STATUS_KEY = KEY + ".status"  # delivery id -> the HTTP status a webhook call was answered with
NOT_YET_SENT = (deliveries.INFLIGHT, deliveries.AWAITING_RETRY, deliveries.QUEUED)


def remember(redis, delivery_id, status_code=None):
    """Keep, outside the database, that this delivery went (a webhook call: answered so)."""
    pipeline = redis.pipeline(transaction=True)  # both notes or neither
    pipeline.sadd(KEY, delivery_id)
    if status_code is not None:
        pipeline.hset(STATUS_KEY, delivery_id, status_code)
    pipeline.execute()


def waiting(redis):
    """The deliveries sent but not yet recorded so: {id: status code, or None (an email)}."""
    codes = {int(key): int(code) for key, code in redis.hgetall(STATUS_KEY).items()}
    return {delivery_id: codes.get(delivery_id)
            for delivery_id in sorted(int(member) for member in redis.smembers(KEY))}


def record(session, sent, now):
    """Write them down as sent (`sent`: as `waiting` gives them), in the caller's transaction
    (done again, it changes nothing)."""
    delivery_ids = list(sent)
    if delivery_ids:
        for code in set(sent.values()) - {None}:  # before `sent`, which the filter leaves out
            session.execute(update(Delivery).where(
                Delivery.id.in_([key for key, value in sent.items() if value == code]),
                Delivery.state.in_(NOT_YET_SENT)).values(last_status_code=code),
                execution_options={"synchronize_session": False})
        session.execute(update(Delivery)
                        .where(Delivery.id.in_(delivery_ids), Delivery.state.in_(NOT_YET_SENT))
                        .values(state=deliveries.SENT, sent_at=now, state_changed_at=now))
        # a receiver that answered 2xx is not failing, as a recorded success would say
        session.execute(update(WebhookEndpoint)
                        .where(WebhookEndpoint.id.in_(select(Delivery.endpoint_id).where(
                            Delivery.id.in_(delivery_ids))))
                        .values(failing_since=None),
                        execution_options={"synchronize_session": False})


def forget(redis, delivery_ids):
    """Once recorded in the database."""
    if delivery_ids:
        pipeline = redis.pipeline(transaction=True)
        pipeline.srem(KEY, *delivery_ids)
        pipeline.hdel(STATUS_KEY, *delivery_ids)
        pipeline.execute()
