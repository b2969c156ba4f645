"""What happens to a fact from the bus here, besides emails: one delivery of kind `webhook` per
enabled endpoint that asked for its type, recorded once (the idempotency key is the
CloudEvent id and the endpoint), in the consumer's batch, before the entries are acked."""
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from services.notifications.models import Delivery, WebhookEndpoint
from services.notifications.pipeline import deliveries, mailcap, tombstones

KIND = "webhook"
_TABLE = Delivery.__table__
_INSERT = insert(_TABLE).returning(_TABLE.c.idempotency_key, _TABLE.c.id)


def idempotency_key(cloudevent_id, endpoint_id):
    return deliveries.idempotency_key(cloudevent_id, KIND, f"endpoint:{endpoint_id}")


def person(data):
    """The address of the person a fact names (an attendee, a requester), or None."""
    for part in ("registration", "requester"):
        email = (data.get(part) or {}).get("email") if isinstance(data, dict) else None
        if email:
            return email
    return None


def record_batch(db, envelopes, now, lease):
    """Record the webhook deliveries of a batch of facts; the ids still to send."""
    if not envelopes:
        return []
    try:
        return _record(db, envelopes, now, lease)
    except IntegrityError:  # another consumer recorded the same facts at once: find its rows
        return _record(db, envelopes, now, lease)


def _record(db, envelopes, now, lease):
    with db.transaction() as session:
        endpoints = session.execute(select(WebhookEndpoint.id, WebhookEndpoint.event_types)
                                    .where(WebhookEndpoint.enabled.is_(True))).all()
        wanted = {}
        for envelope in envelopes:
            for endpoint_id, event_types in endpoints:
                if envelope["type"] in event_types:
                    wanted.setdefault(idempotency_key(envelope["id"], endpoint_id),
                                      (envelope, endpoint_id))
        if not wanted:
            return []
        wanted = _without_erased(session, wanted)
        found = {key: (delivery_id, state) for key, delivery_id, state in session.execute(
            select(Delivery.idempotency_key, Delivery.id, Delivery.state)
            .where(Delivery.idempotency_key.in_(list(wanted))))}
        new = [_row(key, envelope, endpoint_id, now, lease)
               for key, (envelope, endpoint_id) in wanted.items() if key not in found]
        if new:
            found.update({key: (delivery_id, deliveries.QUEUED)
                          for key, delivery_id in session.execute(_INSERT, new)})
    return [found[key][0] for key in wanted if found[key][1] == deliveries.QUEUED]


def _without_erased(session, wanted):
    """Leave out the facts about a person erased after they happened (privacy.py): an
    integrator is not told what the person asked us to forget."""
    named = {key: (envelope, KIND, person(envelope["data"]), None)
             for key, (envelope, _endpoint) in wanted.items() if person(envelope["data"])}
    kept = tombstones.without_erased(session, named) if named else named
    return {key: value for key, value in wanted.items() if key not in named or key in kept}


def _row(key, envelope, endpoint_id, now, lease):
    named = person(envelope["data"])
    return {"idempotency_key": key, "kind": KIND, "recipient": f"webhook:{endpoint_id}",
            "endpoint_id": endpoint_id,
            # whom the payload names, so an erasure finds it (never counted by the mail cap)
            "mailbox_key": mailcap.mailbox_key(named) if named else None,
            "cloudevent_id": envelope["id"], "cloudevent_type": envelope["type"],
            "subject": envelope["subject"], "context": envelope,
            "message_id": envelope["id"],  # the webhook-id, the same on every attempt
            "state": deliveries.QUEUED, "attempts": 0, "last_error": None,
            "due_at": now + lease, "state_changed_at": now, "created_at": now}
