"""Emails the mail server took (and webhook calls a receiver answered 2xx) whose `sent` could
not be written, as the database went away between the answer and the commit: their ids wait
in Redis, and the sweeper writes them down before it would call their rows stale and send
them again."""
from sqlalchemy import select, update

from services.notifications.models import Delivery, WebhookEndpoint
from services.notifications.pipeline import deliveries

KEY = "abierto.notifications.sent-unrecorded"
NOT_YET_SENT = (deliveries.INFLIGHT, deliveries.AWAITING_RETRY, deliveries.QUEUED)


def remember(redis, delivery_id):
    """Keep, outside the database, that this delivery's email went."""
    redis.sadd(KEY, delivery_id)


def waiting(redis):
    """The deliveries sent but not yet recorded so."""
    return sorted(int(member) for member in redis.smembers(KEY))


def record(session, delivery_ids, now):
    """Write them down as sent, in the caller's transaction (done again, it changes nothing)."""
    if delivery_ids:
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
        redis.srem(KEY, *delivery_ids)
