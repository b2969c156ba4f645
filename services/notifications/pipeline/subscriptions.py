"""Following a commitment: double opt-in, leaving with one click, and who an alert goes to.

Each use case is one transaction that saves the change, its `subscription.*` fact (outbox)
and, for a request, the opt-in email's delivery, queued after commit.
"""
import logging
import re
from datetime import timedelta

from sqlalchemy import select, update

from services.notifications.mail import kinds
from services.notifications.mail.kind import FOLLOWERS
from services.notifications.mail.kinds import subscription_optin as optin_kind
from services.notifications.models import FeedTombstone, Outbox, Subscription
from services.notifications.pipeline import deliveries, mailcap
from shared import changes, envelope, outbox
from shared.db import page_of, utcnow
from shared.domain_errors import NotFound
from shared.schemas import normalize_email

log = logging.getLogger(__name__)
SOURCE = "/abierto/notifications"
PENDING, CONFIRMED, CANCELLED = "pending", "confirmed", "cancelled"
STATUSES = (PENDING, CONFIRMED, CANCELLED)
# \Z, not $: "$" also matches before a final newline, and "commitment:3\n" is not a topic
TOPIC = re.compile(r"^commitment:([1-9][0-9]{0,9})\Z")
OPTIN = optin_kind.KIND.name  # no event produces it: a request records it here
# Per mailbox, whatever the topic: tighter than MAIL_CAP, and past it nothing is recorded
# at all (the subscription's language and status are not churned by a flood of requests).
OPTINS_PER_HOUR = 3


def topic_commitment(topic):
    """The commitment id of a `commitment:<id>` topic, or None if the topic is not one."""
    match = TOPIC.match(topic or "")
    return int(match.group(1)) if match else None


def follow(db, email, topic, language, *, commitments, links, enqueue, now, lease, mail_domain,
           cap):
    """Ask to follow `topic` (the API's and the follow form's one use case): the commitment
    is looked up, the request saved, and its opt-in email handed to the workers.

    Raises the commitments client's UnknownCommitment or CommitmentsUnavailable, having
    saved nothing. Whatever the address's state, nothing tells the caller.
    """
    commitment = commitments.get(topic_commitment(topic))
    to_send = request(db, email, topic, language, commitment, links, now, lease, mail_domain, cap)
    # Committed already: if the broker is away, the sweeper queues the email when it is due.
    if to_send:
        try:
            enqueue(to_send)
        except Exception as error:  # noqa: BLE001 - any broker failure is retried by the sweeper
            log.warning("opt-in email left for the sweeper: %s", type(error).__name__)


def request(db, email, topic, language, commitment, links, now, lease, mail_domain, cap):
    """Ask to follow `topic`; return the ids of opt-in emails to queue (often none).

    Nothing is sent to a confirmed follower, nor past the hourly cap of opt-in emails for
    a mailbox, nor past the mail cap (`cap`, the email is recorded `suppressed`); the
    caller answers the same either way, so nobody learns who follows what.
    """
    key, mailbox = normalize_email(email), mailcap.mailbox_key(email)
    with db.transaction() as session:
        _serialise_mailbox(session, mailbox)
        subscription = session.scalar(select(Subscription).where(
            Subscription.email_key == key, Subscription.topic == topic))
        if subscription is not None and subscription.status == CONFIRMED:
            return []
        recent = deliveries.count_recent(session, OPTIN, mailbox, now - timedelta(hours=1))
        if recent >= OPTINS_PER_HOUR:
            return []
        if subscription is None:
            subscription = Subscription(email_key=key, topic=topic, created_at=now)
            session.add(subscription)
        subscription.email, subscription.language = email.strip(), language
        subscription.status = PENDING
        subscription.confirmed_at = subscription.cancelled_at = None
        session.flush()  # the id goes into the fact and the link
        fact = _record(session, "subscription.requested", subscription, now)
        context = {
            "subscription": {"id": subscription.id, "email": subscription.email,
                             "language": language, "topic": topic,
                             "confirm_url": links.confirm(subscription.id)},
            "commitment": commitment,
        }
        optin = deliveries.record(session, fact, OPTIN, subscription.email, context, now, lease,
                                  mail_domain, cap)
        return [optin.id] if optin is not None and optin.state == deliveries.QUEUED else []


def get(db, subscription_id):
    """One subscription, for the page a link opens."""
    with db.transaction() as session:
        subscription = session.get(Subscription, subscription_id)
        if subscription is None:
            raise NotFound("This subscription no longer exists.")
        return subscription


def confirm(db, subscription_id, now):
    """Start alerts (the person clicked the opt-in link's button); repeating changes nothing."""
    return _move(db, subscription_id, CONFIRMED, "subscription.confirmed", now)


def unsubscribe(db, subscription_id, now):
    """Stop alerts; repeating changes nothing."""
    return _move(db, subscription_id, CANCELLED, "subscription.cancelled", now)


def _move(db, subscription_id, status, fact_type, now):
    with db.transaction() as session:
        subscription = session.scalar(select(Subscription).where(
            Subscription.id == subscription_id).with_for_update())
        if subscription is None:
            raise NotFound("This subscription no longer exists.")
        if subscription.status != status:
            subscription.status = status
            if status == CONFIRMED:
                subscription.confirmed_at, subscription.cancelled_at = now, None
            else:
                subscription.cancelled_at = now
            _record(session, fact_type, subscription, now)
        return subscription


def set_language(session, email, language):
    """Correct the language of every alert this address gets (rectification)."""
    session.execute(update(Subscription).where(
        Subscription.email_key == normalize_email(email)).values(language=language))


def followers(session, topic, after_id, limit):
    """The next `limit` confirmed followers of a topic with an id above `after_id`, by id."""
    return session.scalars(select(Subscription).where(
        Subscription.topic == topic, Subscription.status == CONFIRMED,
        Subscription.id > after_id).order_by(Subscription.id).limit(limit)).all()


def search(session, page, per_page, topic=None, status=None):
    """A page of subscriptions, newest first, and how many match."""
    query = select(Subscription)
    if topic:
        query = query.where(Subscription.topic == topic)
    if status:
        query = query.where(Subscription.status == status)
    return page_of(session, query.order_by(Subscription.id.desc()), page, per_page)


def search_changed(session, cursor, limit):
    """(subscriptions changed after `cursor`, the next cursor): a cancelled or erased one
    comes as a tombstone, so a mirror lets the follower go (following again brings it back)."""
    return changes.changed(session, Subscription, FeedTombstone, cursor, limit,
                           shown=lambda subscription: subscription.status != CANCELLED)


def erase(session, email_key, now=None):
    """Delete an address's subscriptions (ARCO); a live one leaves a `subscription.cancelled`."""
    rows = session.scalars(select(Subscription).where(Subscription.email_key == email_key)).all()
    for subscription in rows:
        if subscription.status != CANCELLED:
            subscription.status = CANCELLED
            _record(session, "subscription.cancelled", subscription, now or utcnow())
        session.delete(subscription)
    return len(rows)


def _record(session, fact_type, subscription, now):
    """Save the `subscription.*` fact in the outbox; it carries no address."""
    fact = envelope.make(fact_type, SOURCE, f"subscriptions/{subscription.id}", {
        "subscription": {"id": subscription.id, "topic": subscription.topic,
                         "language": subscription.language}}, now=now)
    outbox.add(session, Outbox, fact)
    return fact


def _serialise_mailbox(session, mailbox):
    # Two requests for one mailbox at once must not both pass the hourly cap or both insert
    # the row (a mailbox covers every spelling of its address, so one email_key too).
    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL takes the mailbox's
    # lock, the one the mail cap takes (re-entrant), released at commit.
    if session.get_bind().dialect.name == "postgresql":
        deliveries.lock_mailboxes(session, [mailbox])


def unfollowed(connection, claimed):
    """Ids of the emails to followers among `claimed` whose follower unsubscribed after they
    were queued."""
    following = {d.id: d.context["subscription"]["id"] for d in claimed
                 if _to_a_follower(d) and (d.context.get("subscription") or {}).get("id")}
    if not following:
        return set()
    confirmed = set(connection.scalars(select(Subscription.id).where(
        Subscription.id.in_(set(following.values())), Subscription.status == CONFIRMED)))
    return {delivery_id for delivery_id, subscription_id in following.items()
            if subscription_id not in confirmed}


def _to_a_follower(delivery):
    kind = kinds.REGISTRY.get(delivery.kind)  # an unknown one fails when it is built
    return kind is not None and kind.audience == FOLLOWERS
