"""What notifications stops keeping, by age: entries on the bus (dead letters included), the
erasure tombstones that outlive them, and the stored content of emails long done with. The
same hourly round reseals webhook secrets an older SECRET_KEY sealed (webhooks/sealing.py).

The sweeper runs it every `EVERY` seconds; `apply` takes the moment, so a test sets the clock.
"""
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from services.notifications.models import Delivery
from services.notifications.pipeline import deliveries, mailcap, naming, tombstones
from services.notifications.pipeline.consumer import DEAD_LETTERS, STREAMS
from services.notifications.webhooks import endpoints
from services.notifications.webhooks import recording as webhook_recording
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
        scrubbed = scrub_contexts(session, _scrub_before(settings, now), now, settings.keys)
        resealed = endpoints.reseal_all(session, settings.keys)
    return {"stream entries": trimmed, "tombstones": expired, "email contents": scrubbed,
            "webhook secrets resealed": resealed}


def _scrub_before(settings, now):
    """DELIVERY_CONTEXT_DAYS ago, or earlier if the mail cap looks back further (a week's cap
    with a day's retention): it counts the scrubbed rows by their mailbox key."""
    cap = timedelta(seconds=mailcap.longest(mailcap.parse(settings.mail_cap)))
    return now - max(timedelta(days=settings.delivery_context_days), cap)


_TABLE = Delivery.__table__  # Core: one executemany, not the ORM's bulk update by key
_SCRUB = (update(_TABLE).where(_TABLE.c.id == bindparam("delivery_id"))
          .values(context={}, context_scrubbed_at=bindparam("now"),
                  mailbox_key=bindparam("mailbox"), last_error=bindparam("error"),
                  history=bindparam("past")))


def scrub_contexts(session, done_before, now, keys):
    """Empty the stored content (names, addresses, links) of the deliveries done with before
    `done_before`, and leave no address in clear in what remains (naming.py); the row stays,
    so the deliveries API still says what was sent, when, and how it went."""
    rows = session.execute(
        select(Delivery.id, Delivery.kind, Delivery.mailbox_key, Delivery.last_error,
               Delivery.history)
        .where(Delivery.state.in_(DONE), Delivery.state_changed_at < done_before,
               Delivery.context_scrubbed_at.is_(None))).all()
    if rows:
        session.connection().execute(_SCRUB, [_scrubbed(row, now, keys) for row in rows])
    return len(rows)


def _scrubbed(row, now, keys):
    named = row.mailbox_key and row.kind == webhook_recording.KIND
    return {"delivery_id": row.id, "now": now,
            "mailbox": naming.hashed(keys, row.mailbox_key) if named else None,
            "error": naming.without_addresses(row.last_error),
            "past": [{**entry, "last_error": naming.without_addresses(entry["last_error"])}
                     if entry.get("last_error") else entry
                     for entry in row.history] if row.history else row.history}
