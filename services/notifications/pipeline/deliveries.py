"""The life of one email, as pretix keeps it: a row whose state is the only truth. A webhook
call (kind `webhook`, webhooks/) lives the same life in the same table.

queued -> inflight -> sent
                   -> awaiting_retry -> inflight ...   (SMTP 4xx, connection errors)
                   -> failed                            (SMTP 5xx, or retries used up)
suppressed: never sent, as its mailbox had reached MAIL_CAP (see mailcap.py); final.
failed -> queued: only by a person (retry), recorded in the row's `history`.
`due_at` is when the sweeper (re)queues the row if it is not done by then, so a task
lost with a killed worker, or a retry whose time has come, is picked up again.
"""
import hashlib
from contextlib import contextmanager, nullcontext
from datetime import timedelta

from sqlalchemy import bindparam, func, insert, literal_column, select, text, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.exc import SQLAlchemyError

from services.notifications.mail import kinds
from services.notifications.models import Delivery, FeedTombstone
from services.notifications.pipeline import mailcap, oppositions, tombstones
from shared import changes
from shared.db import page_of, utcnow
from shared.domain_errors import Conflict, NotFound
from shared.prepared import Prepared

QUEUED, INFLIGHT, SENT, AWAITING_RETRY, FAILED, WITHDRAWN, SUPPRESSED = (
    "queued", "inflight", "sent", "awaiting_retry", "failed", "withdrawn", "suppressed")
PUBLIC_STATUS = {QUEUED: "pending", INFLIGHT: "pending", AWAITING_RETRY: "pending",
                 SENT: "sent", FAILED: "failed", WITHDRAWN: "withdrawn", SUPPRESSED: "suppressed"}
PUBLIC_STATUSES = tuple(dict.fromkeys(PUBLIC_STATUS.values()))  # pending, sent, ... suppressed
SENDABLE = (QUEUED, AWAITING_RETRY)  # the sweeper and the tasks touch only these
# Only a failed email can be sent again by hand. A suppressed one stays so: its mailbox was
# over MAIL_CAP (the cap protects it from being flooded) or its owner opposed such emails.
RETRYABLE = (FAILED,)


def idempotency_key(cloudevent_id, kind, recipient):
    """CloudEvent id + template + recipient, hashed so the key holds no address in clear."""
    return hashlib.sha256(f"{cloudevent_id}|{kind}|{recipient.strip().lower()}".encode()).hexdigest()


def record(session, envelope, kind, recipient, context, now, lease, mail_domain, cap=None):
    """The delivery for this (CloudEvent, kind, recipient) as an ORM row, for a caller that goes
    on to use or change it: created once, found on every redelivery; None if the recipient
    was erased after the fact."""
    recorded = record_all(session, [(envelope, kind, recipient, context)], now, lease,
                          mail_domain, cap)
    return session.get(Delivery, recorded[0][0]) if recorded else None


_TABLE = Delivery.__table__
# One look-up for a page: the deliveries already there (a redelivered event) and, for the
# mail cap, the recent anonymous-request emails of the page's mailboxes, told apart by `part`.
_FIND = union_all(
    select(literal_column("'found'").label("part"), _TABLE.c.idempotency_key.label("key"),
           _TABLE.c.id, _TABLE.c.state, _TABLE.c.created_at)
    .where(_TABLE.c.idempotency_key.in_(bindparam("keys", expanding=True))),
    select(literal_column("'recent'"), _TABLE.c.mailbox_key, _TABLE.c.id, _TABLE.c.state,
           _TABLE.c.created_at)
    .where(_TABLE.c.mailbox_key.in_(bindparam("mailboxes", expanding=True)),
           _TABLE.c.created_at >= bindparam("since"),
           _TABLE.c.kind.in_(bindparam("anonymous", expanding=True)),
           _TABLE.c.state != SUPPRESSED))  # suppressed ones do not count: the window ends
_INSERT = insert(_TABLE).returning(_TABLE.c.idempotency_key, _TABLE.c.id)
# Sorted keys, locked in array order in one statement: two consumers cannot deadlock.
_LOCK = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(:locks) AS k").bindparams(
    bindparam("locks", type_=ARRAY(BIGINT)))


def record_all(session, wanted, now, lease, mail_domain, cap=None):
    """(id, state) of the delivery for each (envelope, kind, recipient, context); each created once.

    A few statements however many events `wanted` spans: one SELECT leaves out the emails
    whose recipient was erased after their fact happened (tombstones.py), one finds the
    deliveries already there (a redelivered event) and what the page's mailboxes were
    recently sent, one multi-row INSERT adds the others. Bare Core, as the ORM would only
    add CPU here. Wanted twice (an event read twice in one batch) is one delivery, listed
    once; the order is that of first mention.

    `cap` (mailcap.parse(MAIL_CAP)) caps the emails of anonymous kinds per mailbox: past
    it a new delivery is recorded `suppressed`, not queued. None caps nothing (callers
    that record only what staff caused, and tests of other things).
    """
    wanted_by_key = {}
    for envelope, kind, recipient, context in wanted:
        wanted_by_key.setdefault(idempotency_key(envelope["id"], kind, recipient),
                                 (envelope, kind, recipient, context))
    if not wanted_by_key:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # Every mailbox of the page, the capped ones and the others: an erasure takes the
        # same locks, so it either sees these rows or they see its tombstone.
        lock_mailboxes(session, {mailcap.mailbox_key(recipient)
                                 for _e, _k, recipient, _c in wanted_by_key.values()})
    wanted_by_key = tombstones.without_erased(session, wanted_by_key)
    if not wanted_by_key:
        return []
    anonymous = kinds.anonymous()
    capped = sorted({mailcap.mailbox_key(recipient) for _e, kind, recipient, _c
                     in wanted_by_key.values() if kind in anonymous}) if cap else []
    found, recent = {}, {}
    for part, key, delivery_id, state, created_at in session.execute(_FIND, {
            "keys": list(wanted_by_key), "mailboxes": capped, "anonymous": sorted(anonymous),
            "since": now - timedelta(seconds=mailcap.longest(cap) if cap else 0)}):
        if part == "found":
            found[key] = (delivery_id, state)
        else:
            recent.setdefault(key, []).append(created_at)
    new = [_new_row(key, *asked, now, lease, mail_domain)
           for key, asked in wanted_by_key.items() if key not in found]
    if cap:
        for row in new:
            if row["kind"] in anonymous:
                _apply_cap(row, cap, recent, now)
    _apply_oppositions(session, new)
    if new:
        # RETURNING's order is not guaranteed on every database: ids are matched by key.
        states = {row["idempotency_key"]: row["state"] for row in new}
        found.update({key: (delivery_id, states[key])
                      for key, delivery_id in session.execute(_INSERT, new)})
    return [found[key] for key in wanted_by_key]


def _new_row(key, envelope, kind, recipient, context, now, lease, mail_domain):
    return {"idempotency_key": key, "kind": kind, "recipient": recipient,
            "mailbox_key": mailcap.mailbox_key(recipient),
            "cloudevent_id": envelope["id"], "cloudevent_type": envelope["type"],
            "subject": envelope["subject"], "context": context,
            "message_id": f"<{key[:32]}@{mail_domain}>", "state": QUEUED, "attempts": 0,
            "last_error": None, "due_at": now + lease, "state_changed_at": now, "created_at": now}


def _apply_oppositions(session, new):
    """Suppress the new rows of kinds an address that opposed is not sent."""
    optional = [row for row in new if not kinds.get(row["kind"]).essential]
    opposed = oppositions.among(session, {row["mailbox_key"] for row in optional})
    for row in optional:
        if row["mailbox_key"] in opposed:
            row.update(state=SUPPRESSED, last_error=oppositions.OPPOSED_REASON)


def _apply_cap(row, cap, recent, now):
    """Queue the row if its mailbox is under the cap (and count it), else suppress it."""
    sent_at = recent.setdefault(row["mailbox_key"], [])
    window = mailcap.reached(cap, sent_at, now)
    if window is None:
        sent_at.append(now)
    else:
        row.update(state=SUPPRESSED, last_error=mailcap.suppressed_reason(window))


def lock_mailboxes(session, mailbox_keys):
    """PostgreSQL: hold, until commit, a lock per mailbox, so that two transactions cannot
    both count a mailbox under its cap and both add an email. SQLite needs none: BEGIN
    IMMEDIATE already lets one writer at a time count and insert."""
    locks = sorted({int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
                    for key in mailbox_keys})
    session.execute(_LOCK, {"locks": locks})


def count_recent(session, kind, mailbox_key, since):
    """How many `kind` emails went (or are going) to this mailbox since a moment."""
    return session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.mailbox_key == mailbox_key, Delivery.created_at >= since,
        Delivery.kind == kind, Delivery.state != SUPPRESSED))


_CLAIM = (update(_TABLE)
          .where(_TABLE.c.id.in_(bindparam("ids", expanding=True)), _TABLE.c.state.in_(SENDABLE))
          .values(state=INFLIGHT, attempts=_TABLE.c.attempts + 1, state_changed_at=bindparam("now"))
          .returning(_TABLE.c.id, _TABLE.c.kind, _TABLE.c.recipient, _TABLE.c.context,
                     _TABLE.c.message_id, _TABLE.c.attempts, _TABLE.c.endpoint_id))


def claim(connection, delivery_ids, now):
    """Take, for this task, those of the rows still to be sent, in one statement; returns
    them by id as rows of (id, kind, recipient, context, message_id, attempts, endpoint_id).

    The others are another task's or done. A killed worker leaves what it claimed
    `inflight`; the sweeper calls such rows stale after `stale_after` and retries them.
    A bare Core statement: through the ORM, claiming cost a registration burst's worker
    two thirds as much CPU as building its emails.
    """
    rows = connection.execute(_CLAIM, {"ids": list(delivery_ids), "now": now}).all()
    return sorted(rows, key=lambda row: row.id)


def release(db, delivery_ids, now):
    """Give back claimed rows that were not tried (their task ran out of time)."""
    with db.engine.begin() as connection:
        connection.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(delivery_ids)), Delivery.state == INFLIGHT)
            .values(state=QUEUED, attempts=Delivery.attempts - 1, state_changed_at=now))


_MARK_SENT = (update(Delivery).where(Delivery.id == bindparam("delivery_id"))
              .values(state=SENT, sent_at=bindparam("now"), state_changed_at=bindparam("now")))
# last_error stays: it is history
_MARKING_SENT = Prepared(_MARK_SENT)


class SentNotRecorded(Exception):
    """The mail server took the email (or the receiver answered a webhook call 2xx, its
    `status_code`), but the database did not take its `sent`."""

    def __init__(self, delivery_id, status_code=None):
        super().__init__(f"delivery {delivery_id} was sent; its record was not written")
        self.delivery_id, self.status_code = delivery_id, status_code


@contextmanager
def held_connection(db):
    """On PostgreSQL, one connection for the records of a task's sends: a pool checkout per
    email, with its ping, cost the worker about as much CPU as the update and its commit.
    It comes from `db.async_commits()`, whose commits do not wait for the disk.
    Unpinged, a connection that a restart ended fails at the task's next email, before it is
    sent; the task stops there and the sweeper retries the rest, as after any outage (the
    connection reconnects on its next use). None on SQLite, where a checkout is cheap and
    each record takes its own, and while the database is away: each record then tries its
    own and meets the outage itself."""
    engine = db.async_commits()
    try:
        connection = engine.connect() if engine is not None else None
    except SQLAlchemyError:
        connection = None
    with connection if connection is not None else nullcontext():
        yield connection


@contextmanager
def recording_sent(db, delivery_id, held=None):
    """Wrap the SMTP send: the row becomes `sent` with as little work as possible after the 250.

    Between the server's 250 and this record, a killed worker repeats the email, so that
    gap is kept short (a bare Core statement, no ORM session). On PostgreSQL the update is
    made before sending (a Prepared statement: 0.075 ms of the worker's CPU against 0.103
    through SQLAlchemy's execute), in a transaction left open on the task's `held` connection
    (held_connection), and the 250 is followed only by a COMMIT that does not wait for the
    disk (db.async_commits()); a failed send rolls it back. The COMMIT is AND CHAIN, which
    starts the next email's transaction in the same round trip, as the connection's checkout
    started the first (shared.db._begin_as_ping): two round trips an email, not a BEGIN
    of its own as well. SQLite has one write lock for the whole file and
    must not hold it across network I/O, so there the update is its own short transaction
    after. A database that fails after the 250 raises SentNotRecorded, so the caller can
    keep that fact elsewhere (unrecorded.py).
    """
    if db.engine.dialect.name != "postgresql":
        yield
        try:
            with db.engine.begin() as connection:
                connection.execute(_MARK_SENT, {"delivery_id": delivery_id, "now": utcnow()})
        except SQLAlchemyError as error:
            raise SentNotRecorded(delivery_id) from error
        return
    sent = False
    try:
        with nullcontext(held) if held is not None else db.async_commits().connect() as connection:
            try:
                if not connection.in_transaction():
                    # Prepared runs on the driver's cursor, out of SQLAlchemy's sight: begun
                    # here, the transaction is one the rollback below ends on the server.
                    connection.begin()
                _MARKING_SENT.first(connection, {"delivery_id": delivery_id, "now": utcnow()})
                yield
                sent = True
                connection.exec_driver_sql("COMMIT AND CHAIN")
            except BaseException:
                # A plain ROLLBACK: it also ends what a connection the server ended leaves
                # behind, so that the next use connects anew; the next email then BEGINs.
                connection.rollback()
                raise
    except SQLAlchemyError as error:
        if sent:
            raise SentNotRecorded(delivery_id) from error
        raise


def withdraw(connection, delivery_ids, reason, now):
    """Not to be sent after all (their recipients stopped wanting them); final."""
    connection.execute(update(_TABLE).where(_TABLE.c.id.in_(list(delivery_ids)))
                       .values(state=WITHDRAWN, last_error=reason, state_changed_at=now))


def mark_failed_attempt(session, delivery, error, permanent, now, delays):
    """Schedule the next try from `delays`, or give up and say why."""
    give_up = permanent or delivery.attempts > len(delays)
    delivery.last_error = error[:1000]
    delivery.state_changed_at = now
    if give_up:
        delivery.state = FAILED
    else:
        delivery.state = AWAITING_RETRY
        delivery.due_at = now + timedelta(seconds=delays[delivery.attempts - 1])
    return delivery.state


def sweep(session, now, stale_after, every_queued=False):
    """Ids to (re)queue now: due rows, and rows stuck in flight (their worker died).

    `every_queued`: queued rows that are not due yet too, as after a database outage, whose
    tasks gave up (a second task for a row claims nothing, so this repeats no email)."""
    stale = timedelta(seconds=stale_after)
    session.execute(
        update(Delivery)
        .where(Delivery.state == INFLIGHT, Delivery.state_changed_at <= now - stale)
        .values(state=AWAITING_RETRY, due_at=now, state_changed_at=now,
                last_error="worker lost while sending; retrying (may repeat one email)"))
    due_now = Delivery.due_at <= now
    if every_queued:
        due_now = due_now | (Delivery.state == QUEUED)
    due = session.scalars(select(Delivery.id).where(
        Delivery.state.in_(SENDABLE), due_now).order_by(Delivery.id).limit(1000)).all()
    if due:
        session.execute(update(Delivery).where(Delivery.id.in_(due)).values(due_at=now + stale))
    return due


def search(session, page, per_page, status=None, recipient=None, kind=None, cloudevent_id=None):
    """A page of deliveries, newest first, and how many match."""
    query = select(Delivery)
    if status:
        query = query.where(Delivery.state.in_([s for s, p in PUBLIC_STATUS.items() if p == status]))
    if recipient:
        query = query.where(func.lower(Delivery.recipient) == recipient.strip().lower())
    if kind:
        query = query.where(Delivery.kind == kind)
    if cloudevent_id:
        query = query.where(Delivery.cloudevent_id == cloudevent_id)
    return page_of(session, query.order_by(Delivery.id.desc()), page, per_page)


def search_changed(session, cursor, limit):
    """(deliveries changed after `cursor`, the next cursor); an erased one comes as a tombstone."""
    return changes.changed(session, Delivery, FeedTombstone, cursor, limit)


def one(session, delivery_id):
    """The delivery, or NotFound."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"There is no delivery {delivery_id}.")
    return delivery


def retry(session, delivery_id, by, now):
    """Put a failed delivery back in the queue, for the sweeper to send within SWEEP_EVERY,
    with a fresh round of tries; the row's history keeps who, when and what had failed.

    One conditional UPDATE: of two retries at once only one finds the row still failed, so
    the email is queued once (and the tasks' claim sends a queued row once).
    """
    delivery = one(session, delivery_id)
    entry = {"at": now.isoformat(), "action": "retried", "by": by, "from_state": delivery.state,
             "attempts": delivery.attempts, "last_error": delivery.last_error}
    done = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state.in_(RETRYABLE))
        .values(state=QUEUED, attempts=0, due_at=now, state_changed_at=now,
                history=[*(delivery.history or []), entry])
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.refresh(delivery)
        raise Conflict(f"Delivery {delivery_id} is {delivery.state}; only a failed delivery "
                       "can be retried.")
    session.refresh(delivery)
    return delivery
