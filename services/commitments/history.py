"""The public history: an append-only log of every change, hash-chained so tampering shows.

An entry's `hash` is the SHA-256 (hex) of the canonical JSON — sorted keys, separators
`,` and `:`, UTF-8 — of its `id`, `occurred_at` (UTC, ISO 8601 with microseconds),
`commitment_id`, `subject_type`, `subject_id`, `field`, `old_value`, `new_value`,
`justification`, `evidence`, `actor` and `previous_hash`. The first entry's
`previous_hash` is 64 zeros; each later one carries the hash of the entry before it.
"""
import hashlib
import json
from datetime import date, datetime, timezone

from sqlalchemy import Text, cast, select, text

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


def verify(session):
    """Recompute the whole chain in id order: {"ok": true, "entries": n} or the first bad id."""
    columns = [getattr(HistoryEntry, name) for name in (
        "id", "occurred_at", "commitment_id", "subject_type", "subject_id", "field",
        "justification", "actor", "previous_hash", "hash")]
    # JSON read as text, so a row edited into invalid JSON is reported, not a crash.
    raw = [cast(getattr(HistoryEntry, name), Text).label(name) for name in _JSON_COLUMNS]
    rows = session.execute(select(*columns, *raw).order_by(HistoryEntry.id)
                           .execution_options(yield_per=1000))
    previous, count = GENESIS, 0
    for row in rows.mappings():
        values = dict(row)
        try:
            values.update({name: None if row[name] is None else json.loads(row[name])
                           for name in _JSON_COLUMNS})
        except (TypeError, ValueError):
            return {"ok": False, "first_bad": row["id"]}
        if row["previous_hash"] != previous or entry_hash(values) != row["hash"]:
            return {"ok": False, "first_bad": row["id"]}
        previous, count = row["hash"], count + 1
    return {"ok": True, "entries": count}
