"""Erased addresses: a fact about an address that was already on its way when the address was
erased (on the bus, or read by a consumer) emails nobody.

Only a hash of the address is kept, and only while a fact that old can still be on the bus
(STREAM_RETENTION): after that, nothing is left to stop.
"""
import hashlib
from datetime import datetime

from sqlalchemy import delete, select

from services.notifications.models import Tombstone
from shared.schemas import normalize_email


def address_hash(email):
    return hashlib.sha256(f"tombstone|{normalize_email(email)}".encode()).hexdigest()


def lay(session, email, now):
    """Mark the address erased at `now` (again, if it was before)."""
    key = address_hash(email)
    tombstone = session.scalar(select(Tombstone).where(Tombstone.address_hash == key))
    if tombstone is None:
        session.add(Tombstone(address_hash=key, erased_at=now))
    else:
        tombstone.erased_at = max(tombstone.erased_at, now)


def without_erased(session, wanted_by_key):
    """`wanted_by_key` ({key: (envelope, kind, recipient, context)}) without the emails whose
    fact happened before its recipient was erased. A later fact (the person registered
    again after asking to be forgotten) is theirs to receive."""
    hashes = {key: address_hash(recipient) for key, (_e, _k, recipient, _c) in wanted_by_key.items()}
    erased = dict(session.execute(select(Tombstone.address_hash, Tombstone.erased_at).where(
        Tombstone.address_hash.in_(set(hashes.values())))).all()) if hashes else {}
    if not erased:
        return wanted_by_key
    return {key: wanted for key, wanted in wanted_by_key.items()
            if hashes[key] not in erased
            or datetime.fromisoformat(wanted[0]["time"]) > erased[hashes[key]]}


def expire(session, before):
    """Forget the erasures made before `before`: no fact that old is left to stop."""
    return session.execute(delete(Tombstone).where(Tombstone.erased_at < before),
                           execution_options={"synchronize_session": False}).rowcount
