"""`abierto seed --demo`: a follower of the example commitment, who asked and confirmed as
the follow form and the opt-in link would (its opt-in email is queued like any other)."""
from datetime import timedelta

from sqlalchemy import select

from services.notifications.mail import mime
from services.notifications.mail.links import Links
from services.notifications.models import Subscription
from services.notifications.pipeline import mailcap, subscriptions
from shared.db import utcnow

FOLLOWER = "eva.ejemplo@example.org"


def demo(settings, db, commitment, now=None):
    """Follow `commitment` (the commitments demo's summary) with FOLLOWER, confirmed."""
    now = now or utcnow()
    topic = f"commitment:{commitment['id']}"
    subscriptions.request(db, FOLLOWER, topic, "es", commitment,
                          Links(settings.public_base_url, settings.keys), now,
                          timedelta(seconds=settings.stale_after),
                          mime.domain_of(settings.mail_from), mailcap.parse(settings.mail_cap))
    with db.transaction() as session:
        subscription_id = session.scalar(select(Subscription.id).where(
            Subscription.email_key == FOLLOWER, Subscription.topic == topic))
    subscriptions.confirm(db, subscription_id, now)
    return f"demo follower of commitment {commitment['id']} (subscription {subscription_id})"
