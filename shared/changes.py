"""Change feeds: every listed row carries its place in its service's one order of changes,
so a mirror asks "what changed since my cursor" and never misses a row.

Each listed table has `change_seq` (a per-service counter, taken on every insert and
update) and `change_xid`; a deleted row leaves a `feed_tombstones` row in the same order.
Database triggers set them (the migrations install them with `install`), so ORM and Core
writes alike are counted.

Why never a row skipped:
- SQLite serialises writers (every writing transaction begins IMMEDIATE, shared.db) and the
  counter is a one-row table bumped inside the writer's transaction: counters are taken in
  commit order, and a reader sees a prefix of them. Position = (0, change_seq).
- PostgreSQL writers run at once: a row can take seq 10 and commit after a reader saw seq
  11. So each row also records its transaction's id (`pg_current_xact_id()`), and a feed
  hands out only rows written by transactions older than the reading snapshot's xmin (the
  oldest transaction still running): those are all finished and all visible. Rows come in
  (change_xid, change_seq) order; a transaction still running, or one that starts later,
  has an id at or above that xmin, so its rows sort after every cursor handed out so far.
  A long transaction delays the feed (its rows and every later one wait), it never loses.
"""
import base64
import binascii
import functools
import re
from dataclasses import dataclass

from marshmallow import ValidationError, fields
from sqlalchemy import (BigInteger, Integer, String, bindparam, delete, literal_column, or_, select,
                        tuple_)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.domain_errors import Gone

START = "0"  # the cursor of a mirror that has nothing yet: every row, from the first
# A cursor is a Position written out: "<transaction>.<counter>" (SQLite: "0.<counter>").
# Every text the pattern allows is a cursor the feed accepts: one past the newest change
# simply gives an empty page and itself back. 18 digits stay below 2**63 (BIGINT).
PATTERN = r"^(0|[0-9]{1,18}\.[0-9]{1,18})$"
_CURSOR = re.compile(PATTERN.replace("$", r"\Z"))
# Cursors handed out before (525a6bf and earlier): "c1." and the same text in base64url.
# Still read, so a mirror that kept one goes on; never handed out again.
_LEGACY = re.compile(r"c1\.([A-Za-z0-9_-]{1,60})\Z")


@dataclass(frozen=True, order=True)
class Position:
    """A place in the order of changes: (transaction, counter); (0, n) on SQLite."""

    xid: int = 0
    seq: int = 0


@dataclass(frozen=True)
class Tombstone:
    """A row that left the list (deleted, erased, cancelled): only its id, no personal data."""

    id: int


def encode(position):
    """The cursor a client sends back: the position, as the document's pattern has it."""
    return f"{position.xid}.{position.seq}"


def decode(cursor):
    """The position a cursor names; ValueError for text that is not a cursor."""
    if cursor == START:
        return Position()
    legacy = _LEGACY.match(cursor)
    if legacy:
        cursor = _legacy_text(legacy[1])
    if not _CURSOR.match(cursor):
        raise ValueError("not a cursor")
    xid, seq = cursor.split(".")
    return Position(int(xid), int(seq))


def _legacy_text(body):
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


class CursorField(fields.String):
    """`changed_since`: a `next_cursor` from an earlier answer, or "0" for everything."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"description": (
            "Only what changed after this cursor: a `next_cursor` from an earlier answer, or "
            "`0` for everything. Items that left the list come as `{\"id\", \"deleted\": true}`. "
            "A cursor past the newest change gives no items and itself back. (Cursors of the "
            "earlier form `c1.…` are still read.)"), "pattern": PATTERN}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text_ = super()._deserialize(value, attr, data, **kwargs)
        try:
            decode(text_)
        except ValueError:
            raise ValidationError("Not a cursor: send a `next_cursor` from an earlier answer, "
                                  "or 0 to start over.") from None
        return text_


class Tracked:
    """Columns of a table whose list has a change feed (set by the triggers, never by code)."""

    @declared_attr
    def change_seq(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, nullable=True, index=True)

    @declared_attr
    def change_xid(cls) -> Mapped[int]:
        return mapped_column(BigInteger, default=0, server_default="0")


def feed_tables(Base):
    """The counter (SQLite's; PostgreSQL uses the `change_seq` SEQUENCE) and the tombstones."""

    class ChangeCounter(Base):
        __tablename__ = "change_counter"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        value: Mapped[int] = mapped_column(BigInteger, default=0)

    class FeedTombstone(Base):
        """A deleted row of a listed table: kind (its table), id, the list it was in."""

        __tablename__ = "feed_tombstones"
        kind: Mapped[str] = mapped_column(String(40), primary_key=True)
        item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
        scope: Mapped[str | None] = mapped_column(String(40), nullable=True)
        change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
        change_xid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
        deleted_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    return ChangeCounter, FeedTombstone


# ---- reading -------------------------------------------------------------------------

def _horizon(session):
    """Rows of transactions below this id are final; None: every committed row is (SQLite).

    Read once, before the rows and the tombstones: each of those statements has a snapshot of
    its own, and a horizon read by each could hand out a deletion committed between them, so
    moving the cursor past a row the first read held back (its older transaction committed in
    that same moment)."""
    if session.connection().dialect.name == "sqlite":
        return None
    return session.scalar(select(_XMIN))


_XMIN = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


def changed(session, model, tombstones, cursor, limit, where=(), scope=None, shown=None):
    """(items, next_cursor): up to `limit` rows of `model` (matching `where`) and tombstones
    of its table (in `scope`) after `cursor`, in the order of changes. A row `shown` says
    is not in the list comes as a Tombstone."""
    after = decode(cursor)
    horizon = _horizon(session)
    position = tuple_(model.change_xid, model.change_seq)
    rows = select(model).where(position > tuple_(after.xid, after.seq), *where)
    gone = select(tombstones).where(tombstones.kind == model.__tablename__,
                                    tuple_(tombstones.change_xid, tombstones.change_seq)
                                    > tuple_(after.xid, after.seq))
    if scope is not None:
        gone = gone.where(tombstones.scope == str(scope))
    if horizon is not None:
        rows = rows.where(model.change_xid < horizon)
        gone = gone.where(tombstones.change_xid < horizon)
    rows = rows.order_by(model.change_xid, model.change_seq).limit(limit)
    gone = gone.order_by(tombstones.change_xid, tombstones.change_seq).limit(limit)
    merged = sorted([(Position(r.change_xid, r.change_seq), r) for r in session.scalars(rows)]
                    + [(Position(t.change_xid, t.change_seq), Tombstone(t.item_id))
                       for t in session.scalars(gone)], key=lambda pair: pair[0])[:limit]
    # After the reads: a pruning committed before them is seen here (PostgreSQL reads each
    # statement anew), so no tombstone goes missing between a check and the read.
    check_kept(session, tombstones, model.__tablename__, after, scope)
    items = [item if isinstance(item, Tombstone) or shown is None or shown(item)
             else Tombstone(item.id) for _, item in merged]
    if merged:
        return items, encode(merged[-1][0])
    return items, cursor if _CURSOR.match(cursor) else encode(after)  # a legacy one: rewritten


# ---- pruning: tombstones are kept FEED_TOMBSTONE_RETENTION --------------------------------
# How far a list's tombstones were pruned is itself kept as a row of the same table: kind
# `pruned:<table>`, item_id the list's scope (an id; 0 for none), at the position of the
# newest tombstone pruned from it. Feeds read only their table's own kind, so it never shows.
PRUNED = "pruned:"
RESYNC = ("This cursor is older than the deletions this list still keeps "
          "(FEED_TOMBSTONE_RETENTION): start again with changed_since=0 and replace your copy. "
          "/ Este cursor es anterior a las bajas que esta lista aún guarda: vuelva a empezar "
          "con changed_since=0 y reemplace su copia.")


def prune(session, tombstones, before, now=None):
    """Forget the tombstones of rows deleted before `before`, remembering for each list the
    newest position forgotten (check_kept refuses a cursor before it); how many went."""
    table = tombstones.__table__
    gone = session.execute(
        delete(table).where(table.c.deleted_at < before, ~table.c.kind.startswith(PRUNED))
        .returning(table.c.kind, table.c.scope, table.c.change_xid, table.c.change_seq)).all()
    newest = {}
    for kind, scope, xid, seq in gone:  # RETURNING: exactly what went, whatever commits meanwhile
        newest[kind, scope] = max(newest.get((kind, scope), Position()), Position(xid, seq))
    for (kind, scope), position in newest.items():
        _remember(session, table, kind, scope, position, now or utcnow())
    return len(gone)


def prune_old(db, tombstones, retention):
    """The hourly upkeep of one service's feeds (its relay runs it): prune what is older than
    `retention` (FEED_TOMBSTONE_RETENTION); what went, in words, or None."""
    now = utcnow()
    with db.transaction() as session:
        pruned = prune(session, tombstones, now - retention, now)
    return f"pruned {pruned} feed tombstone(s)" if pruned else None


def _remember(session, table, kind, scope, position, now):
    """Move the list's `pruned:` row to `position`, never back (two pruners may race)."""
    insert = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
              else sqlite_insert)(table)
    row = insert.values(kind=PRUNED + kind, item_id=int(scope) if scope else 0, scope=scope,
                        change_xid=position.xid, change_seq=position.seq, deleted_at=now)
    session.execute(row.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.item_id],
        set_={"change_xid": row.excluded.change_xid, "change_seq": row.excluded.change_seq,
              "deleted_at": row.excluded.deleted_at},
        where=tuple_(table.c.change_xid, table.c.change_seq)
        < tuple_(row.excluded.change_xid, row.excluded.change_seq)))


def check_kept(session, tombstones, kind, after, scope=None):
    """Gone (410, "resync") if tombstones this list's cursor `after` has not seen were
    pruned: the mirror may hold rows deleted since, and only a sync from 0 finds them."""
    if after == Position():
        return  # from the start, a mirror has nothing that could have been deleted
    rows = session.connection().execute(_pruned(tombstones.__table__), {"kind": PRUNED + kind, "scope": (
        str(scope) if scope is not None else None)})  # Core: every feed answer asks
    newest = max((Position(xid, seq) for xid, seq in rows), default=None)
    if newest is not None and after < newest:
        raise Gone(RESYNC)


@functools.cache
def _pruned(table):
    """How far a list was pruned: one statement per table, built once (None scope: any)."""
    scope = bindparam("scope", type_=String)
    return select(table.c.change_xid, table.c.change_seq).where(
        table.c.kind == bindparam("kind"), or_(scope.is_(None), table.c.scope == scope))


# ---- the triggers (for migrations) -----------------------------------------------------

_PG_FUNCTIONS = """
CREATE SEQUENCE IF NOT EXISTS change_seq AS bigint;
CREATE OR REPLACE FUNCTION abierto_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_seq := nextval('change_seq');
  NEW.change_xid := pg_current_xact_id()::text::bigint;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION abierto_touch_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I SET change_xid = 0 WHERE id = $1', TG_ARGV[0])
    USING (to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) ->> TG_ARGV[1])::bigint;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION abierto_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO feed_tombstones (kind, item_id, scope, change_seq, change_xid, deleted_at)
  VALUES (TG_TABLE_NAME, OLD.id, CASE WHEN TG_ARGV[0] <> '' THEN to_jsonb(OLD) ->> TG_ARGV[0] END,
          nextval('change_seq'), pg_current_xact_id()::text::bigint, now())
  ON CONFLICT (kind, item_id) DO UPDATE SET scope = EXCLUDED.scope,
    change_seq = EXCLUDED.change_seq, change_xid = EXCLUDED.change_xid,
    deleted_at = EXCLUDED.deleted_at;
  RETURN OLD;
END $$;
"""
# A child row whose change shows in its parent's list item (a milestone in its commitment's
# progress) moves the parent too.
_PG_CHILD = """
CREATE TRIGGER {table}_touch_parent AFTER INSERT OR UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION abierto_touch_parent('{parent}', '{column}');
"""
_SQLITE_CHILD = """
CREATE TRIGGER {table}_insert_touch AFTER INSERT ON {table} BEGIN
  UPDATE {parent} SET change_xid = 0 WHERE id = NEW.{column};
END;
CREATE TRIGGER {table}_update_touch AFTER UPDATE ON {table} WHEN NEW.{stamp} IS OLD.{stamp} BEGIN
  UPDATE {parent} SET change_xid = 0 WHERE id = NEW.{column};
END;
CREATE TRIGGER {table}_delete_touch AFTER DELETE ON {table} BEGIN
  UPDATE {parent} SET change_xid = 0 WHERE id = OLD.{column};
END;
"""
_PG_TABLE = """
CREATE TRIGGER {table}_stamp_change BEFORE INSERT OR UPDATE ON {table}
  FOR EACH ROW EXECUTE FUNCTION abierto_stamp_change();
CREATE TRIGGER {table}_tombstone AFTER DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION abierto_tombstone('{scope}');
"""
# SQLite: AFTER triggers write the counter into the row (a BEFORE trigger cannot change NEW);
# the counter's row is made by the first write, or again if someone emptied every table.
# A batch migration that copies a tracked table anew on SQLite must install these again.
_SQLITE_TABLE = """
CREATE TRIGGER {table}_insert_change AFTER INSERT ON {table} BEGIN
  INSERT INTO change_counter (id, value) VALUES (1, 1)
    ON CONFLICT (id) DO UPDATE SET value = value + 1;
  UPDATE {table} SET change_seq = (SELECT value FROM change_counter WHERE id = 1)
    WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER {table}_update_change AFTER UPDATE ON {table}
  WHEN NEW.change_seq IS OLD.change_seq BEGIN
  INSERT INTO change_counter (id, value) VALUES (1, 1)
    ON CONFLICT (id) DO UPDATE SET value = value + 1;
  UPDATE {table} SET change_seq = (SELECT value FROM change_counter WHERE id = 1)
    WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER {table}_tombstone AFTER DELETE ON {table} BEGIN
  INSERT INTO change_counter (id, value) VALUES (1, 1)
    ON CONFLICT (id) DO UPDATE SET value = value + 1;
  INSERT OR REPLACE INTO feed_tombstones (kind, item_id, scope, change_seq, change_xid, deleted_at)
  VALUES ('{table}', OLD.id, {scope_value}, (SELECT value FROM change_counter WHERE id = 1), 0,
          strftime('%Y-%m-%d %H:%M:%f', 'now'));
END;
"""


def install(op, tables, parents=None):
    """Count every write to `tables` ({table: scope column or None}) from now on, and give the
    rows already there their place (migrations call it after creating the columns).
    `parents`: {child table: (parent table, its column)}, a write to the child moves the parent."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute(_PG_FUNCTIONS)  # one string: psycopg runs several statements without parameters
    for table, scope in tables.items():
        if sqlite:
            scope_value = f"CAST(OLD.{scope} AS TEXT)" if scope else "NULL"
            _sqlite(op, _SQLITE_TABLE.format(table=table, scope_value=scope_value))
        else:
            op.execute(_PG_TABLE.format(table=table, scope=scope or ""))
    for child, (parent, column) in (parents or {}).items():
        if sqlite:  # an untracked child has no stamp: compare its id, always the same
            stamp = "change_seq" if child in tables else "id"
            _sqlite(op, _SQLITE_CHILD.format(table=child, parent=parent, column=column, stamp=stamp))
        else:
            op.execute(_PG_CHILD.format(table=child, parent=parent, column=column))
    for table in tables:
        op.execute(f"UPDATE {table} SET change_xid = 0")  # the rows already there get a place


def _sqlite(op, triggers):
    for statement in triggers.split("END;"):
        if statement.strip():
            op.execute(statement + "END;")


def uninstall(op, tables, parents=None):
    sqlite = op.get_bind().dialect.name == "sqlite"
    names = ("insert_change", "update_change", "tombstone", "insert_touch", "update_touch",
             "delete_touch") if sqlite else ("stamp_change", "tombstone", "touch_parent")
    for table in [*tables, *(parents or {})]:
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        for function in ("abierto_tombstone", "abierto_stamp_change", "abierto_touch_parent"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
        op.execute("DROP SEQUENCE IF EXISTS change_seq")
