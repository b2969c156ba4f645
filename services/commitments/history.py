"""The public history: an append-only log of every change, hash-chained so tampering shows.

An entry's `hash` is the SHA-256 (hex) of the canonical JSON — sorted keys, separators
`,` and `:`, UTF-8 — of its `id`, `occurred_at` (UTC, ISO 8601 with microseconds),
`commitment_id`, `subject_type`, `subject_id`, `field`, `old_value`, `new_value`,
`justification`, `evidence`, `actor` and `previous_hash`. The first entry's
`previous_hash` is 64 zeros; each later one carries the hash of the entry before it.

The entries, in id order, are also the leaves of an RFC 9162 Merkle tree (merkle.py): leaf
n is the 32 bytes of entry n+1's `hash`. Its signed heads and proofs (transparency.py)
let whoever saved a head prove that today's log extends it.
"""
import hashlib
import json
import threading
from collections import namedtuple
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Text, cast, select, text

from services.commitments import merkle
from services.commitments.models import HistoryEntry

GENESIS = "0" * 64
_LOCK_KEY = 7_302_003  # names the chain's advisory lock; any constant no one else uses
_JSON_COLUMNS = ("old_value", "new_value", "evidence")


def jsonable(value):
    """A value as the log keeps it: dates as ISO 8601 text, containers copied."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


def record_of(row):
    """The fields of a plan, commitment, milestone or assessment that the log keeps."""
    return {name: jsonable(getattr(row, name)) for name in row.RECORDED}


def entry_hash(values):
    """The hash of one entry, given its fields (a mapping; `hash` itself is ignored)."""
    body = {name: values[name] for name in (
        "id", "commitment_id", "subject_type", "subject_id", "field", "old_value", "new_value",
        "justification", "evidence", "actor", "previous_hash")}
    body["occurred_at"] = jsonable(values["occurred_at"])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Log:
    """Appends entries inside the caller's transaction; making one takes the chain's lock."""

    def __init__(self, session, actor, now):
        if session.get_bind().dialect.name == "postgresql":
            # The chain is linear and ids are handed out here: one appender at a time.
            # (SQLite's BEGIN IMMEDIATE, see shared.db, already holds the write lock.)
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        last = session.execute(select(HistoryEntry.id, HistoryEntry.hash)
                               .order_by(HistoryEntry.id.desc()).limit(1)).first()
        self.session, self.actor, self.now = session, actor, now
        self.last_id, self.last_hash = tuple(last) if last else (0, GENESIS)

    def add(self, subject_type, subject_id, field, old, new, *, commitment_id=None,
            justification=None, evidence=()):
        """Append one entry and return it."""
        values = dict(
            id=self.last_id + 1, occurred_at=self.now, commitment_id=commitment_id,
            subject_type=subject_type, subject_id=subject_id, field=field,
            old_value=jsonable(old), new_value=jsonable(new), justification=justification,
            evidence=jsonable(list(evidence)), actor=self.actor, previous_hash=self.last_hash)
        entry = HistoryEntry(**values, hash=entry_hash(values))
        self.session.add(entry)
        self.last_id, self.last_hash = entry.id, entry.hash
        return entry

    def created(self, subject_type, row, commitment_id=None):
        """One `created` entry whose new value is the whole new row."""
        return self.add(subject_type, row.id, "created", None, record_of(row),
                        commitment_id=commitment_id)

    def changed(self, subject_type, subject_id, changes, commitment_id=None, **why):
        """One entry per changed field; `changes` maps field -> (old, new)."""
        for field, (old, new) in changes.items():
            self.add(subject_type, subject_id, field, old, new, commitment_id=commitment_id, **why)


def leaf(entry_hash_hex):
    """An entry's leaf in the Merkle tree."""
    return merkle.leaf_hash(bytes.fromhex(entry_hash_hex))


def leaves(session):
    """Every entry's leaf, in id order, as the database holds them now."""
    return [leaf(value) for value in session.scalars(
        select(HistoryEntry.hash).order_by(HistoryEntry.id).execution_options(yield_per=1000))]


# The last entry verified so far: its id, hash and link, how many entries up to it, and the
# Merkle tree of those entries (a merkle.Frontier; None: empty).
Checkpoint = namedtuple("Checkpoint", "id hash entries previous_hash tree")
START = Checkpoint(0, GENESIS, 0, None, None)


def _walk(session, start, expect=None):
    """Hash the entries after `start` in id order: (result, last good Checkpoint).

    `expect`, a checkpoint of an earlier verification, is an entry that must still carry
    the hash it had then: a rehashed forgery of the newest entry has a consistent chain.
    """
    columns = [getattr(HistoryEntry, name) for name in (
        "id", "occurred_at", "commitment_id", "subject_type", "subject_id", "field",
        "justification", "actor", "previous_hash", "hash")]
    # JSON read as text, so a row edited into invalid JSON is reported, not a crash.
    raw = [cast(getattr(HistoryEntry, name), Text).label(name) for name in _JSON_COLUMNS]
    rows = session.execute(select(*columns, *raw).where(HistoryEntry.id > start.id)
                           .order_by(HistoryEntry.id).execution_options(yield_per=1000))
    last = start
    tree = start.tree.copy() if start.tree else merkle.Frontier()
    for row in rows.mappings():
        values = dict(row)
        try:
            values.update({name: None if row[name] is None else json.loads(row[name])
                           for name in _JSON_COLUMNS})
        except (TypeError, ValueError):
            return {"ok": False, "first_bad": row["id"]}, last
        if (row["previous_hash"] != last.hash or entry_hash(values) != row["hash"]
                or (expect and row["id"] == expect.id and row["hash"] != expect.hash)):
            return {"ok": False, "first_bad": row["id"]}, last
        if tree.size == last.entries:  # the remembered entry, walked again, is in already
            tree.append(leaf(row["hash"]))
        last = Checkpoint(row["id"], row["hash"], last.entries + 1, row["previous_hash"], tree)
    if expect and last.id < expect.id:  # the tail was cut: the first missing entry is bad
        return {"ok": False, "first_bad": last.id + 1}, last
    return {"ok": True, "entries": last.entries}, last


def verify(session, remembered=None):
    """Recompute the whole chain in id order: {"ok": true, "entries": n} or the first bad id.

    With `remembered` (a Checkpoint from an earlier verification) that entry must also
    still be there, unchanged.
    """
    return _walk(session, START, remembered)[0]


def verify_since(session, remembered):
    """Hash the remembered entry again (it must be there, unchanged, still linked to the
    hash before it) and the entries after it; if anything fails, walk the whole chain to
    name the first bad entry."""
    before = Checkpoint(remembered.id - 1, remembered.previous_hash, remembered.entries - 1,
                        None, remembered.tree)
    result, last = _walk(session, before if remembered.id else START, remembered)
    return (result, last) if result["ok"] else _walk(session, START, remembered)


class Verifier:
    """Verification for public reads (pages, GET /history/verify), cheap as the log grows.

    The whole chain is hashed on the first check and again on the first check
    FULL_EVERY after the last whole one; in between, each check hashes the last verified
    entry again (it must be there, with the same hash and link) and then only the newer
    entries. So a cut tail or an edited newest entry shows at once; an entry edited
    before the remembered one shows at the next whole check (or at once with
    `abierto history verify`, which always hashes everything but, remembering nothing,
    cannot tell a cut tail). The page says when the last whole check ran.

    The checkpoint lives in this process's memory (one per web worker), not in the
    database: a row there could be rewritten by whoever can rewrite the history, making
    a forged chain pass as "verified up to here". A restart only costs one whole check.
    """

    FULL_EVERY = timedelta(minutes=10)

    def __init__(self, full_every=FULL_EVERY):
        self.full_every = full_every
        # One check at a time: a request that waits here finds the work already done.
        self._lock = threading.Lock()
        self._remembered = None  # the last verified entry, kept even once the chain breaks
        self._result = None
        self.full_at = None  # when the whole chain was last hashed (the service's clock)

    def check(self, db, now):
        """(result, when the whole chain was last hashed); result as `verify`'s."""
        return self.latest(db, now)[:2]

    def latest(self, db, now):
        """`check`'s answer and the Merkle tree (a merkle.Frontier) of the entries verified
        so far: the tree a signed head describes."""
        with self._lock:
            due = self.full_at is None or now - self.full_at >= self.full_every
            if not due and self._result and not self._result["ok"]:
                # A broken chain stays reported until the next whole check, rather than
                # being rehashed in full on every read (tampering must not pin the worker).
                return self._result, self.full_at, self._tree()
            with db.reading() as connection:
                if due:
                    result, last = _walk(connection, START, self._remembered)
                    self.full_at = now
                else:
                    result, last = verify_since(connection, self._remembered)
            if result["ok"]:
                self._remembered = last
            self._result = result
            return result, self.full_at, self._tree()

    def _tree(self):
        return (self._remembered and self._remembered.tree) or merkle.Frontier()
