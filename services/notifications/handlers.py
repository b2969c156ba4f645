"""What happens when X? The map from each event type to the emails it sends, and to whom."""
import functools
import itertools

from sqlalchemy.exc import IntegrityError

from services.notifications import deliveries, subscriptions

EMAILS = {
    "registration.confirmed": ["registration_confirmed"],
    "registration.waitlisted": ["registration_waitlisted"],
    "registration.promoted": ["registration_promoted"],
    "registration.cancelled": ["registration_cancelled"],
    "registration.pending": ["registration_pending"],
    "registration.repeated": ["registration_repeat"],
    # registration.expired sends nothing: the person did not confirm, and hears no more.
    "milestone.changed": ["milestone_alert"],
}
FOLLOWERS_PAGE = 500  # followers read, and their deliveries written, per transaction


def attendee(session, envelope, links, after):
    """For `registration.*`: the attendee, with the event's data; one page, nothing after it."""
    data = envelope["data"]
    return [(data["registration"]["email"], data)], None


def followers(session, envelope, links, after):
    """For `milestone.changed`: one page of the commitment's confirmed followers.

    A minor change alerts nobody. Each context is the event's data plus the follower's
    own subscription (address, language, unsubscribe link); returns (page, next cursor).
    """
    data = envelope["data"]
    if data["minor"]:
        return [], None
    page = subscriptions.followers(session, f"commitment:{data['commitment']['id']}",
                                   after or 0, FOLLOWERS_PAGE)
    addressed = [(follower.email, {**data, "subscription": {
        "id": follower.id, "email": follower.email, "language": follower.language,
        "unsubscribe_url": links.unsubscribe(follower.id)}}) for follower in page]
    return addressed, page[-1].id if len(page) == FOLLOWERS_PAGE else None


AUDIENCE = {
    "registration_confirmed": attendee,
    "registration_waitlisted": attendee,
    "registration_promoted": attendee,
    "registration_cancelled": attendee,
    "registration_pending": attendee,
    "registration_repeat": attendee,
    "milestone_alert": followers,
}


def handle(db, envelope, now, lease, mail_domain, links, on_page=lambda ids: None, cap=None):
    """Record the deliveries an event asks for (idempotently); return the ids still to send."""
    return handle_batch(db, [envelope], now, lease, mail_domain, links, on_page, cap)


def handle_batch(db, envelopes, now, lease, mail_domain, links, on_page=lambda ids: None,
                 cap=None):
    """Record the deliveries of a batch of events (idempotently); return the ids still to send.

    `cap` is the mail cap (mailcap.parse(MAIL_CAP)): an email an anonymous request caused
    to a mailbox that has reached it is recorded `suppressed`, and not sent.

    An email to an event's attendee is a small write: consecutive such events share one
    short transaction. A large audience is written page by page, each page its own short
    transaction. `on_page` hears of each transaction's ids once committed, in the order
    of the events; an event handled again finds its deliveries already there and adds none.
    """
    to_send = []

    def record(page, cursor=None):
        """Record one page, then hand its ids on; return the cursor of the page after it."""
        ids, cursor = _record_page(db, page, cursor, now, lease, mail_domain, cap)
        on_page(ids)
        to_send.extend(ids)
        return cursor

    for to_attendees, run in itertools.groupby(envelopes, key=_to_attendee_only):
        if to_attendees:
            record(functools.partial(_attendees_page, list(run), links))
            continue
        for envelope in run:
            for kind in EMAILS.get(envelope["type"], []):
                page = functools.partial(_audience_page, envelope, kind, links)
                cursor = record(page)
                while cursor is not None:
                    cursor = record(page, cursor)
    return to_send


def _to_attendee_only(envelope):
    """Whether an event sends emails, all of them to its attendee (one each, no paging)."""
    kinds = EMAILS.get(envelope["type"], [])
    return bool(kinds) and all(AUDIENCE[kind] is attendee for kind in kinds)


def _audience_page(envelope, kind, links, session, cursor):
    """A page of an event's `kind` emails as (envelope, kind, recipient, context); next cursor."""
    addressed, cursor = AUDIENCE[kind](session, envelope, links, cursor)
    return [(envelope, kind, recipient, context) for recipient, context in addressed], cursor


def _attendees_page(envelopes, links, session, cursor):
    """The emails of a run of events for their attendee, as one page; nothing after it."""
    return [wanted for envelope in envelopes for kind in EMAILS[envelope["type"]]
            for wanted in _audience_page(envelope, kind, links, session, None)[0]], None


def _record_page(db, page, cursor, now, lease, mail_domain, cap):
    """Record a page in one transaction; return (ids still to send, next cursor).

    Two consumers may record one event at once (one reclaimed it from the other, which
    was slow, not dead): the unique key refuses the second one's INSERT, and its second
    try finds the first one's deliveries instead of pausing the consumer.
    """
    try:
        return _record_page_once(db, page, cursor, now, lease, mail_domain, cap)
    except IntegrityError:
        return _record_page_once(db, page, cursor, now, lease, mail_domain, cap)


def _record_page_once(db, page, cursor, now, lease, mail_domain, cap):
    with db.transaction() as session:
        wanted, next_cursor = page(session, cursor)
        recorded = deliveries.record_all(session, wanted, now, lease, mail_domain, cap)
    to_send = [delivery_id for delivery_id, state in recorded if state == deliveries.QUEUED]
    return to_send, next_cursor
