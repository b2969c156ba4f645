"""What happens when X? Each event's emails (its kinds say which) recorded as deliveries, one
per recipient: the attendee of a registration, or the followers of a commitment."""
from sqlalchemy.exc import IntegrityError

from services.notifications.mail import kinds
from services.notifications.mail.kind import ATTENDEE, FOLLOWERS, REQUESTER
from services.notifications.pipeline import deliveries, subscriptions

ONE_PERSON = (ATTENDEE, REQUESTER)  # audiences of one address, recorded in a shared page
FOLLOWERS_PAGE = 500  # followers read, and their deliveries written, per transaction


def attendee(session, envelope, links, after):
    """The attendee, with the event's data; one page, nothing after it."""
    data = envelope["data"]
    return [(data["registration"]["email"], data)], None


def followers(session, envelope, links, after):
    """One page of the commitment's confirmed followers, after the follower id `after`.

    Each context is the event's data plus the follower's own subscription (address,
    language, unsubscribe link); returns (page, next cursor).
    """
    data = envelope["data"]
    page = subscriptions.followers(session, f"commitment:{data['commitment']['id']}",
                                   after or 0, FOLLOWERS_PAGE)
    addressed = [(follower.email, {**data, "subscription": {
        "id": follower.id, "email": follower.email, "language": follower.language,
        "unsubscribe_url": links.unsubscribe(follower.id)}}) for follower in page]
    return addressed, page[-1].id if len(page) == FOLLOWERS_PAGE else None


def requester(session, envelope, links, after):
    """The person who asked for the email (the event's `requester`); one page."""
    data = envelope["data"]
    return [(data["requester"]["email"], data)], None


AUDIENCES = {ATTENDEE: attendee, FOLLOWERS: followers, REQUESTER: requester}


def handle(db, envelope, now, lease, mail_domain, links, on_page=lambda ids: None, cap=None):
    """Record the deliveries an event asks for (idempotently); return the ids still to send."""
    return handle_batch(db, [envelope], now, lease, mail_domain, links, on_page, cap)


def handle_batch(db, envelopes, now, lease, mail_domain, links, on_page=lambda ids: None,
                 cap=None):
    """Record the deliveries of a batch of events (idempotently); return the ids still to send.

    `cap` is the mail cap (mailcap.parse(MAIL_CAP)): an email an anonymous request caused
    to a mailbox that has reached it is recorded `suppressed`, and not sent.

    An email to an event's attendee is a small write: consecutive events that email only
    their attendee share one short transaction. A large audience is written page by page,
    each page its own short transaction. `on_page` hears of each transaction's ids once
    committed, in the order of the events; an event handled again finds its deliveries
    already there and adds none.
    """
    to_send = []
    for read_page in _readers(envelopes, links):
        cursor = None
        while True:
            ids, cursor = _record_page(db, read_page, cursor, now, lease, mail_domain, cap)
            on_page(ids)
            to_send.extend(ids)
            if cursor is None:
                break
    return to_send


def _readers(envelopes, links):
    """How to read the batch's emails, page by page, in the order of the events: a run of
    events that email only their attendee is read as one page, then each audience of the
    next event."""
    run = []
    for envelope in envelopes:
        emails = kinds.for_event(envelope["type"])
        if emails and all(kind.audience in ONE_PERSON for kind in emails):
            run.append((envelope, emails))
            continue
        if run:
            yield _attendees_of(run, links)
            run = []
        for kind in emails:
            yield _audience_of(envelope, kind, links)
    if run:
        yield _attendees_of(run, links)


def _audience_of(envelope, kind, links):
    """How to read a page of an event's `kind` emails: (session, cursor) ->
    ([(envelope, kind name, recipient, context)], next cursor)."""
    def page(session, cursor):
        if not kind.wanted(envelope["data"]):  # e.g. a minor change alerts nobody
            return [], None
        addressed, cursor = AUDIENCES[kind.audience](session, envelope, links, cursor)
        return [(envelope, kind.name, recipient, context)
                for recipient, context in addressed], cursor
    return page


def _attendees_of(run, links):
    """How to read the emails of a run of events to their attendees, as one page."""
    def page(session, _cursor):
        return [wanted for envelope, emails in run for kind in emails
                for wanted in _audience_of(envelope, kind, links)(session, None)[0]], None
    return page


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
