"""Sending one claimed webhook delivery: sign the CloudEvent, POST it, record the answer.

2xx: sent. 410 Gone: the endpoint is disabled at once. Anything else, or no answer: the
next try per WEBHOOK_RETRY_DELAYS (the delivery states of pipeline/deliveries.py), and once
the endpoint has had no success for WEBHOOK_DISABLE_AFTER it is disabled. A disabled
endpoint's contact is emailed (mail kind `webhook_disabled`).

A database outage is handled as for email (pipeline/tasks.py): a call the receiver took
whose `sent` cannot be written raises deliveries.SentNotRecorded, so the call is noted in
Redis and not made again; any other database error leaves the row claimed for the sweeper.
"""
import logging

from sqlalchemy.exc import SQLAlchemyError

from services.notifications.mail.kinds import webhook_disabled
from services.notifications.models import Delivery, Outbox, WebhookEndpoint
from services.notifications.pipeline import deliveries
from services.notifications.webhooks import endpoints, sealing, transport
from shared import envelope as envelopes
from shared import outbox
from shared.db import utcnow

log = logging.getLogger(__name__)
SOURCE = "/abierto/notifications"


def send(worker, delivery, enqueue):
    """Send a claimed delivery (a row from deliveries.claim); its new state."""
    now = utcnow()
    with worker.db.transaction() as session:
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            row = session.get(Delivery, delivery.id)
            return deliveries.mark_failed_attempt(
                session, row, "the endpoint is disabled or deleted", True, now, ())
        try:
            url, secrets = endpoint.url, endpoints.signing_secrets(endpoint, now,
                                                                   worker.settings.keys)
        except sealing.Unreadable as error:  # ours to fix (SECRET_KEY_FALLBACKS), not theirs
            log.error("webhook endpoint %s: %s", endpoint.id, error)
            return deliveries.mark_failed_attempt(session, session.get(Delivery, delivery.id),
                                                  str(error), False, now,
                                                  worker.settings.webhook_retry_delays)
    if not delivery.context:  # scrubbed or erased meanwhile: nothing left to send
        return _record(worker, delivery, transport.Answer(None, "payload no longer kept"),
                       enqueue, permanent=True)
    body = envelopes.dumps(delivery.context).encode()
    answer = transport.post(worker.webhooks, url, body,
                            transport.headers(delivery.message_id, now, secrets, body))
    return _record(worker, delivery, answer, enqueue)


def _record(worker, delivery, answer, enqueue, permanent=False):
    """Write down the answer; a 2xx the database does not take raises SentNotRecorded."""
    try:
        state, notices = _write(worker, delivery, answer, permanent)
    except SQLAlchemyError as error:
        if answer.status is not None and 200 <= answer.status < 300:
            raise deliveries.SentNotRecorded(delivery.id, answer.status) from error
        raise
    log.info("webhook delivery %s to endpoint %s: %s (HTTP %s)", delivery.id,
             delivery.endpoint_id, state, answer.status)
    if notices:
        enqueue(notices)
    return state


def _write(worker, delivery, answer, permanent):
    now, settings, notices = utcnow(), worker.settings, []
    # Not durable, as a sent email's record (deliveries.recording_sent): a crash in the
    # instant after the commit repeats one call, with its webhook-id, which receivers
    # deduplicate.
    with worker.db.transaction(durable=False) as session:
        row = session.get(Delivery, delivery.id)
        endpoint = session.get(WebhookEndpoint, row.endpoint_id)
        row.last_status_code = answer.status
        if answer.status is not None and 200 <= answer.status < 300:
            row.state, row.sent_at, row.state_changed_at = deliveries.SENT, now, now
            if endpoint is not None:
                endpoint.failing_since = None
            state = deliveries.SENT
        else:
            error = f"HTTP {answer.status}: {answer.detail}" if answer.status else answer.detail
            why = _why_disable(endpoint, answer, now, settings.webhook_disable_after)
            state = deliveries.mark_failed_attempt(session, row, error, permanent or bool(why),
                                                   now, settings.webhook_retry_delays)
            if why and endpoint.enabled:
                notices = _disable(session, worker, endpoint, why, now)
    return state, notices


def _why_disable(endpoint, answer, now, disable_after):
    """"gone", "failing" or None; notes the first failure since the last success."""
    if endpoint is None:
        return None
    endpoint.failing_since = endpoint.failing_since or now
    if answer.status == 410:
        return "gone"
    return "failing" if now - endpoint.failing_since >= disable_after else None


def _disable(session, worker, endpoint, why, now):
    """Switch the endpoint off, say so on the bus, and record the email to its contact."""
    reason = ("the receiver answered 410 Gone" if why == "gone" else
              f"no success since {endpoint.failing_since.isoformat()}")
    endpoints.disable(session, endpoint, reason, now)
    snapshot = {"id": endpoint.id, "url": endpoint.url}
    fact = envelopes.make("webhook.endpoint_disabled", SOURCE, f"webhooks/endpoints/{endpoint.id}",
                          {"endpoint": snapshot, "why": why}, now=now)
    outbox.add(session, Outbox, fact)
    context = {"endpoint": {**snapshot, "description": endpoint.description}, "why": why,
               "failing_since": endpoint.failing_since.isoformat(),
               "requester": {"email": endpoint.contact_email, "language": "es"}}
    notice = deliveries.record(session, fact, webhook_disabled.KIND.name, endpoint.contact_email,
                               context, now, worker.lease, worker.mail_domain)
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, why)
    return [notice.id] if notice is not None and notice.state == deliveries.QUEUED else []
