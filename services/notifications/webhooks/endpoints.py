"""An integrator's webhook endpoints: register, read, change, rotate the secret, delete; the
delivery log of one and a replay. One transaction each; the token that made an endpoint is
the one that sees it (another token gets 404, as if it were not there)."""
import base64
import secrets as random

from sqlalchemy import select, update

from services.notifications.models import Delivery, FeedTombstone, WebhookEndpoint
from services.notifications.pipeline import deliveries
from services.notifications.webhooks import addresses, sealing
from shared import changes, events
from shared.bus import stream_name
from shared.db import page_of
from shared.domain_errors import Conflict, Forbidden, InvalidField, NotFound

SECRET_BYTES = 32
PERSONAL = ("registration.", "arco.")  # these facts name a person: their data is personal
PERSONAL_SCOPE = "registrations:read"
REPLAYABLE = (deliveries.SENT, deliveries.FAILED, deliveries.AWAITING_RETRY, deliveries.WITHDRAWN)


def new_secret():
    """`whsec_` and the base64 of 32 random bytes, as Standard Webhooks spells a secret."""
    return "whsec_" + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def subscribable():
    """The event types an endpoint may ask for: the catalogue's, of the streams consumed here."""
    from services.notifications.pipeline.consumer import STREAMS  # it imports the tasks, which import us

    return {name: kind for name, kind in events.catalogue().items()
            if stream_name(kind.emitted_by) in STREAMS}


def check_types(event_types, scopes):
    """Refuse unknown types (InvalidField), and personal ones to a token that may not read
    registrations (Forbidden); the types, deduplicated, in the catalogue's order."""
    known = subscribable()
    unknown = sorted(set(event_types) - set(known))
    if unknown:
        raise InvalidField("event_types", f"has types that are not in the catalogue: "
                                          f"{', '.join(unknown)} (see /api/v1/webhooks/event-types).")
    personal = sorted(t for t in set(event_types) if t.startswith(PERSONAL))
    if personal and PERSONAL_SCOPE not in scopes:
        raise Forbidden(f"{', '.join(personal)} carry personal data: the token also needs the "
                        f"scope `{PERSONAL_SCOPE}`.")
    return [name for name in known if name in set(event_types)]


def check_url(url, settings):
    allow_private = settings.webhook_allow_private
    addresses.check(url, allow_private,
                    allow_http=allow_private or settings.environment == "development")


def create(db, caller, body, settings, now):
    """Register an endpoint; (endpoint, its secret), the secret shown this once and stored
    only sealed."""
    event_types = check_types(body["event_types"], caller.scopes)
    check_url(body["url"], settings)
    secret = new_secret()
    with db.transaction() as session:
        endpoint = WebhookEndpoint(
            url=body["url"], description=body.get("description"), event_types=event_types,
            contact_email=body["contact_email"], secret=sealing.seal(settings.keys, secret),
            enabled=True, owner_token_id=caller.token_id, created_by=caller.name,
            created_at=now)
        session.add(endpoint)
        session.flush()
        session.expunge(endpoint)
    return endpoint, secret


def listing(db, caller, page, per_page):
    with db.transaction() as session:
        return page_of(session, select(WebhookEndpoint).where(
            WebhookEndpoint.owner_token_id == caller.token_id).order_by(WebhookEndpoint.id),
            page, per_page)


def listing_changed(db, caller, cursor, limit):
    """(the caller's endpoints changed after `cursor`, deleted ones as tombstones, the next
    cursor); another token's deletions stay out of it."""
    with db.transaction() as session:
        return changes.changed(session, WebhookEndpoint, FeedTombstone, cursor, limit,
                               where=[WebhookEndpoint.owner_token_id == caller.token_id],
                               scope=caller.token_id)


def one(session, caller, endpoint_id):
    """The caller's endpoint, or NotFound."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.owner_token_id != caller.token_id:
        raise NotFound(f"There is no webhook endpoint {endpoint_id}.")
    return endpoint


def get(db, caller, endpoint_id):
    with db.transaction() as session:
        return one(session, caller, endpoint_id)


def change(db, caller, endpoint_id, changes, settings, now):
    """Change the URL, types, description, contact, or enable/disable by hand. Enabling
    starts a fresh count of failures; what failed while disabled can be replayed."""
    if "event_types" in changes:
        changes["event_types"] = check_types(changes["event_types"], caller.scopes)
    if "url" in changes:
        check_url(changes["url"], settings)
    with db.transaction() as session:
        endpoint = one(session, caller, endpoint_id)
        enabled = changes.pop("enabled", None)
        for name, value in changes.items():
            setattr(endpoint, name, value)
        if enabled is True and not endpoint.enabled:
            endpoint.enabled, endpoint.failing_since = True, None
            endpoint.disabled_reason = endpoint.disabled_at = None
        elif enabled is False and endpoint.enabled:
            disable(session, endpoint, f"disabled by {caller.name}", now)
        return endpoint


def delete(db, caller, endpoint_id, now):
    """Delete the endpoint; what was still to be sent to it is withdrawn (the log stays)."""
    with db.transaction() as session:
        endpoint = one(session, caller, endpoint_id)
        _withdraw_pending(session, endpoint.id, "the endpoint was deleted", now)
        session.delete(endpoint)


def rotate(db, caller, endpoint_id, now, overlap, keys):
    """A new secret (shown this once); the old one still signs, beside it, for `overlap`,
    unless a key no longer held sealed it (it could not sign anyway: rotating is the way out)."""
    secret = new_secret()
    with db.transaction() as session:
        endpoint = one(session, caller, endpoint_id)
        try:
            previous = sealing.reseal(keys, endpoint.secret) or endpoint.secret
        except sealing.Unreadable:
            previous = None
        endpoint.previous_secret, endpoint.secret = previous, sealing.seal(keys, secret)
        endpoint.previous_secret_until = now + overlap if previous else None
        return endpoint, secret


def signing_secrets(endpoint, now, keys):
    """The secrets that sign a call now, unsealed: the current one, and the previous during
    its overlap. sealing.Unreadable if SECRET_KEY changed without the old one in fallbacks."""
    sealed = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and \
            now < endpoint.previous_secret_until:
        sealed.append(endpoint.previous_secret)
    return [sealing.unseal(keys, secret) for secret in sealed]


def reseal_all(session, keys):
    """Seal under the current SECRET_KEY what an older key (now a fallback) sealed, so the
    fallback can go; how many endpoints changed. One an unknown key sealed is left as is."""
    changed = 0
    for endpoint in session.scalars(select(WebhookEndpoint)):
        try:
            secret = sealing.reseal(keys, endpoint.secret)
            previous = endpoint.previous_secret and sealing.reseal(keys, endpoint.previous_secret)
        except sealing.Unreadable:
            continue
        if secret:
            endpoint.secret = secret
        if previous:
            endpoint.previous_secret = previous
        changed += bool(secret or previous)
    return changed


def disable(session, endpoint, reason, now):
    """Stop calling the endpoint; what was still to be sent to it fails, to be replayed."""
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, reason, now
    session.execute(
        update(Delivery).where(Delivery.endpoint_id == endpoint.id,
                               Delivery.state.in_(deliveries.SENDABLE))
        .values(state=deliveries.FAILED, last_error=f"endpoint disabled: {reason}",
                state_changed_at=now),
        execution_options={"synchronize_session": False})


def _withdraw_pending(session, endpoint_id, reason, now):
    session.execute(
        update(Delivery).where(Delivery.endpoint_id == endpoint_id,
                               Delivery.state.in_(deliveries.SENDABLE))
        .values(state=deliveries.WITHDRAWN, last_error=reason, state_changed_at=now),
        execution_options={"synchronize_session": False})


def log(db, caller, endpoint_id, page, per_page):
    """The endpoint's deliveries, newest first, and how many there are."""
    with db.transaction() as session:
        one(session, caller, endpoint_id)
        return page_of(session, select(Delivery).where(Delivery.endpoint_id == endpoint_id)
                       .order_by(Delivery.id.desc()), page, per_page)


def log_changed(db, caller, endpoint_id, cursor, limit):
    """(the endpoint's deliveries changed after `cursor`: a new try, a new state; the next cursor)."""
    with db.transaction() as session:
        one(session, caller, endpoint_id)
        return changes.changed(session, Delivery, FeedTombstone, cursor, limit,
                               where=[Delivery.endpoint_id == endpoint_id], scope=endpoint_id)


def replay(db, caller, endpoint_id, delivery_id, by, now, lease):
    """Send a delivery again, with the same webhook-id, and a fresh round of tries: queued
    now (the caller hands it to the workers). Not while it is being sent, nor once its
    payload was scrubbed (DELIVERY_CONTEXT_DAYS) or erased."""
    with db.transaction() as session:
        endpoint = one(session, caller, endpoint_id)
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint.id:
            raise NotFound(f"Endpoint {endpoint_id} has no delivery {delivery_id}.")
        if not endpoint.enabled:
            raise Conflict("The endpoint is disabled; enable it (PATCH enabled: true) first.")
        if delivery.context_scrubbed_at is not None or not delivery.context:
            raise Conflict("This delivery's payload is no longer kept, so it cannot be sent again.")
        entry = {"at": now.isoformat(), "action": "replayed", "by": by,
                 "from_state": delivery.state, "attempts": delivery.attempts,
                 "last_error": delivery.last_error}
        done = session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.state.in_(REPLAYABLE))
            .values(state=deliveries.QUEUED, attempts=0, due_at=now + lease,
                    state_changed_at=now, history=[*(delivery.history or []), entry])
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise Conflict(f"Delivery {delivery_id} is being sent now; replay it once it is done.")
        session.refresh(delivery)
        return delivery
