"""The bus consumer: reads the producers' streams, records deliveries (emails and webhook
calls), starts tasks, then acks.

An entry is acknowledged only after its deliveries are committed and their tasks are
with the broker; anything failing before that leaves it pending, to be read again.
"""
import logging
import os
import socket
import time

from kombu.exceptions import KombuError
from marshmallow import ValidationError
from redis.exceptions import ResponseError

from services.notifications.pipeline import handlers, tasks
from services.notifications.webhooks import recording as webhooks
from shared import envelope as envelopes, outages
from shared.bus import Bus, stream_name
from shared.db import utcnow

log = logging.getLogger(__name__)
GROUP = "notifications"
STREAMS = [stream_name("registration"), stream_name("commitments")]
DEAD_LETTERS = "abierto.dead-letters"
RECLAIM_IDLE_MS = 60_000
LINGER_S = 0.05


def consumer_name():
    """The host name, so each replica is its own consumer in the group."""
    return os.environ.get("CONSUMER_NAME") or socket.gethostname()


def process(bus, entries, notifications, enqueue=tasks.enqueue):
    """Handle a batch of entries in order, hand their emails on, then ack them.

    The deliveries of a run of registrations are recorded in one transaction, and emails
    are handed on together, a few tasks for the whole batch, so a burst of registrations
    is shared by the worker processes; a large audience starts going out while the rest
    of it is still being recorded.
    """
    events, handled, pending = [], {}, []

    def hand_on(ids):
        pending.extend(ids)
        if len(pending) >= handlers.FOLLOWERS_PAGE:
            enqueue(pending)
            pending.clear()

    checker = envelopes.Checker()  # a fan-out's entries share their event: checked once
    for stream, entry_id, fields in entries:
        envelope = _read(bus, stream, entry_id, fields, checker,
                         notifications.settings.dead_letter_cap)
        if envelope is not None:
            events.append(envelope)
            handled.setdefault(stream, []).append(entry_id)
    queued = handlers.handle_batch(notifications.db, events, utcnow(), notifications.lease,
                                   notifications.mail_domain, notifications.links,
                                   on_page=hand_on, cap=notifications.cap)
    hooks = webhooks.record_batch(notifications.db, events, utcnow(), notifications.lease)
    enqueue(pending + hooks)
    for stream, entry_ids in handled.items():
        bus.ack(stream, GROUP, *entry_ids)
    if events:
        log.info("handled %d event(s): %d email(s), %d webhook call(s) queued", len(events),
                 len(queued), len(hooks))


def _read(bus, stream, entry_id, fields, checker, dead_letter_cap):
    """The entry's event; None if it is not a valid one, which is dead-lettered and acked."""
    try:
        return envelopes.loads(fields["event"], checker)
    except (ValidationError, ValueError, KeyError) as error:
        log.error("entry %s on %s is not a valid event (%s); dead-lettered", entry_id, stream,
                  error)
        bus.redis.xadd(DEAD_LETTERS, {"stream": stream, "entry": entry_id, **fields},
                       maxlen=dead_letter_cap, approximate=False)
        bus.ack(stream, GROUP, entry_id)
        return None


def read_batch(bus, name, linger=LINGER_S):
    """New entries: wait up to a second for the first, then `linger` for a few more.

    In a rush, what arrives within the linger shares tasks rather than paying for a task
    each; one person registering waits that much longer for their email.
    """
    entries = bus.read(GROUP, name, STREAMS)
    if entries and linger:
        time.sleep(linger)
        entries += bus.read(GROUP, name, STREAMS, block_ms=None)
    return entries


def run(notifications, stop=lambda: False):
    """Consume forever, surviving Redis and database restarts (the group is recreated if it
    vanished); an outage is logged when it begins and when it ends, and waited out with a
    capped backoff while the entries stay pending.

    `notifications`: the process's collaborators (wiring.build)."""
    settings = notifications.settings
    bus, name = Bus.from_url(settings.redis_url), consumer_name()
    ready, last_reclaim = False, 0.0
    outage = outages.Outage("the database or the bus", log)
    while not stop():
        try:
            if not ready:
                for stream in STREAMS:
                    bus.ensure_group(stream, GROUP)
                process(bus, bus.read(GROUP, name, STREAMS, pending=True),  # ours, unacked
                        notifications)
                ready = True
            if time.monotonic() - last_reclaim > RECLAIM_IDLE_MS / 1000:
                for stream in STREAMS:
                    process(bus, bus.reclaim(stream, GROUP, name, RECLAIM_IDLE_MS), notifications)
                last_reclaim = time.monotonic()
            process(bus, read_batch(bus, name), notifications)
            outage.recovered()
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            log.warning("consumer group missing (Redis restarted empty?); recreating")
            ready = False
        except Exception as error:  # entries stay pending, to be read again
            ready = False
            if outages.away(error) or isinstance(error, KombuError):  # the broker is Redis too
                outage.wait(error)
            else:
                log.error("consumer paused: %s: %s", type(error).__name__, error)
                time.sleep(1)
