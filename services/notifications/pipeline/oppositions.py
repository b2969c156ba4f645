"""Opposition (the O of ARCO): an address that asked to be sent nothing but what an active
registration needs. Kept by mailbox (mailcap.mailbox_key), so a `+tag` does not escape it."""
from sqlalchemy import delete, select

from services.notifications.models import Opposition
from services.notifications.pipeline import mailcap

OPPOSED_REASON = "the address opposed (ARCO): only what an active registration needs is sent"


def among(session, mailbox_keys):
    """The mailbox keys of `mailbox_keys` that opposed."""
    if not mailbox_keys:
        return set()
    return set(session.scalars(select(Opposition.mailbox_key).where(
        Opposition.mailbox_key.in_(sorted(mailbox_keys)))))


def is_opposed(session, email):
    return bool(among(session, {mailcap.mailbox_key(email)}))


def set_opposed(session, email, opposed, now):
    """Record, or withdraw, this address's opposition; idempotent."""
    key = mailcap.mailbox_key(email)
    if not opposed:
        forget(session, email)
    elif not among(session, {key}):
        session.add(Opposition(mailbox_key=key, created_at=now))


def forget(session, email):
    """Drop the opposition of this address (an erasure leaves no row naming it); how many."""
    return session.execute(delete(Opposition).where(
        Opposition.mailbox_key == mailcap.mailbox_key(email))).rowcount
