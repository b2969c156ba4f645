"""Everything notifications holds about one address, as an ARCO request sees it: the emails
kept, the webhook calls that carried it to municipal systems and the topics followed
(privacy.py), and whether it opposed. One place for the
operator's `abierto arco` and for the "Mis datos" pages' API."""
from services.notifications import privacy
from services.notifications.pipeline import oppositions


def export(db, keys, email):
    with db.transaction() as session:
        opposed = oppositions.is_opposed(session, email)
    return {"subscriptions": privacy.export_subscriptions(db, email),
            "deliveries": privacy.export(db, email),
            "webhook_calls": privacy.export_webhook_calls(db, keys, email), "opposed": opposed}


def erase(db, bus, keys, email, now):
    """Erase it all; return how many rows (keys: shared.signing.Keys, which the scrubbed
    webhook calls' keyed hashes were made with)."""
    erased = privacy.erase(db, bus, keys, email, now)
    with db.transaction() as session:
        forgotten = oppositions.forget(session, email)
    return erased + forgotten
