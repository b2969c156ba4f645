"""Everything notifications holds about one address, as an ARCO request sees it: the emails
kept, the webhook calls that carried it to municipal systems and the topics followed
(privacy.py), and whether it opposed. One place for the
operator's `abierto arco` and for the "Mis datos" pages' API."""
from services.notifications import privacy
from services.notifications.pipeline import oppositions


def export(db, email):
    with db.transaction() as session:
        opposed = oppositions.is_opposed(session, email)
    return {"subscriptions": privacy.export_subscriptions(db, email),
            "deliveries": privacy.export(db, email),
            "webhook_calls": privacy.export_webhook_calls(db, email), "opposed": opposed}


def erase(db, bus, email, now):
    """Erase it all; return how many rows."""
    erased = privacy.erase(db, bus, email, now)
    with db.transaction() as session:
        forgotten = oppositions.forget(session, email)
    return erased + forgotten
