"""Every ARCO request on record, for the transparency office: the right exercised, when it
came and was done, how it ended, and the deadline it had (ARCO_RESPONSE_DAYS business
days). The address is kept only as a keyed hash, so repeat requests can be linked but the
record names nobody."""
import hashlib
import hmac
import uuid
from datetime import timedelta

from sqlalchemy import select

from services.registration.models import ArcoRequest, FeedTombstone
from shared import changes
from shared.db import page_of
from shared.schemas import normalize_email

ACCESS, RECTIFICATION, CANCELLATION, OPPOSITION = (
    "access", "rectification", "cancellation", "opposition")
RIGHTS = (ACCESS, RECTIFICATION, CANCELLATION, OPPOSITION)
DONE = "done"
KEY_PURPOSE = "arco-log"


def person(keys, email):
    """The keyed hash that stands for an address in the record (shared.signing.Keys)."""
    key = keys.for_purpose(KEY_PURPOSE)[-1]
    return hmac.new(key.encode(), normalize_email(email).encode(), hashlib.sha256).hexdigest()


def deadline(received_at, business_days):
    """The day `business_days` working days (Monday to Friday) after the day received."""
    day = received_at.date()
    while business_days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            business_days -= 1
    return day


def record(session, right, person_hash, received_at, done_at, outcome, business_days):
    """Put one request on record in the caller's transaction; return its request id."""
    request_id = str(uuid.uuid4())
    session.add(ArcoRequest(request_id=request_id, right=right, person=person_hash,
                            received_at=received_at, done_at=done_at, outcome=outcome,
                            deadline=deadline(received_at, business_days)))
    return request_id


def as_dict(row):
    return {"request_id": row.request_id, "right": row.right, "person": row.person,
            "received_at": row.received_at.isoformat(),
            "done_at": row.done_at.isoformat() if row.done_at else None,
            "outcome": row.outcome, "deadline": row.deadline.isoformat()}


def entries_changed(db, cursor, limit):
    """(requests recorded or updated after `cursor`, the next cursor)."""
    with db.transaction() as session:
        return changes.changed(session, ArcoRequest, FeedTombstone, cursor, limit)


def entries(db, page=1, per_page=None):
    """(requests on record oldest first, total); per_page None: all of them."""
    with db.transaction() as session:
        return page_of(session, select(ArcoRequest).order_by(ArcoRequest.id), page, per_page)
