"""What happens when X? The map from each event type to the emails it sends, and to whom."""
from services.notifications import deliveries, subscriptions

EMAILS = {
    "registration.confirmed": ["registration_confirmed"],
    "registration.waitlisted": ["registration_waitlisted"],
    "registration.promoted": ["registration_promoted"],
    "registration.cancelled": ["registration_cancelled"],
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
    "milestone_alert": followers,
}


def handle(db, envelope, now, lease, mail_domain, links, on_page=lambda ids: None):
    """Record the deliveries an event asks for (idempotently); return the ids still to send.

    A large audience is written page by page, each page its own short transaction, and
    `on_page` hears of each page's ids once committed; an event handled again finds its
    deliveries already there and adds none.
    """
    to_send = []
    for kind in EMAILS.get(envelope["type"], []):
        cursor = None
        while True:
            with db.transaction() as session:
                addressed, cursor = AUDIENCE[kind](session, envelope, links, cursor)
                recorded = deliveries.record_many(session, envelope, kind, addressed, now, lease,
                                                  mail_domain) if addressed else []
            page = [delivery.id for delivery in recorded if delivery.state == deliveries.QUEUED]
            on_page(page)
            to_send += page
            if cursor is None:
                break
    return to_send
