"""What notifications stops keeping, by age: entries on the bus (dead letters included), the
erasure tombstones that outlive them, and the stored content of emails long done with. The
same hourly round reseals webhook secrets an older SECRET_KEY sealed (webhooks/sealing.py).

The sweeper runs it every `EVERY` seconds; `apply` takes the moment, so a test sets the clock.
"""
from datetime import timedelta

from sqlalchemy import update

from services.notifications.models import Delivery
from services.notifications.pipeline import deliveries, tombstones
from services.notifications.pipeline.consumer import DEAD_LETTERS, STREAMS
from services.notifications.webhooks import endpoints
from shared.bus import stream_name

EVERY = 3600.0  # the periods are days long: an hour late is soon enough
DONE = (deliveries.SENT, deliveries.FAILED, deliveries.WITHDRAWN, deliveries.SUPPRESSED)
TRIMMED = (*STREAMS, stream_name("notifications"), DEAD_LETTERS)


def apply(db, bus, settings, now):
    """Trim, forget and scrub what is older than the settings keep; return what went, in words."""
    oldest_kept = now - settings.stream_retention
    trimmed = sum(bus.trim_before(stream, oldest_kept) for stream in TRIMMED)
    with db.transaction() as session:
        expired = tombstones.expire(session, oldest_kept)
        scrubbed = scrub_contexts(session, now - timedelta(days=settings.delivery_context_days),
                                  now)
        resealed = endpoints.reseal_all(session, settings.keys)
    return {"stream entries": trimmed, "tombstones": expired, "email contents": scrubbed,
            "webhook secrets resealed": resealed}


def scrub_contexts(session, done_before, now):
    """Empty the stored content (names, addresses, links) of the emails done with before
    `done_before`; the row stays, so the deliveries API still says what was sent, when."""
    return session.execute(
        update(Delivery).where(Delivery.state.in_(DONE), Delivery.state_changed_at < done_before,
                               Delivery.context_scrubbed_at.is_(None))
        .values(context={}, context_scrubbed_at=now),
        execution_options={"synchronize_session": False}).rowcount
