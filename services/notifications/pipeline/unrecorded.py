"""Emails the mail server took whose `sent` could not be written, as the database went away
between the server's 250 and the commit: their ids wait in Redis, and the sweeper writes them
down before it would call their rows stale and send them again."""
from sqlalchemy import update

from services.notifications.models import Delivery
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


def forget(redis, delivery_ids):
    """Once recorded in the database."""
    if delivery_ids:
        redis.srem(KEY, *delivery_ids)
