"""Waiting for PostgreSQL's feed horizon before a test reads a change feed.

A feed hands out only rows of transactions older than the oldest one still running on the
whole server (shared/changes.py: pg_snapshot_xmin is cluster-wide, as transaction ids are).
On a server other test runs or benchmarks share, a transaction open in another database
holds the feed back for as long as it lasts, and a test reading at once sees nothing new.
The test waits instead until every transaction begun before the wait has ended: from then
on, the feed must show every write the test made, which is what the test asserts; a foreign
transaction begun later has a higher id and holds nothing of the test's back.
"""
import time

from sqlalchemy import text

WAIT = 60.0  # seconds; past it the test fails, naming what holds the horizon


def settled(db, wait=WAIT):
    """On PostgreSQL, return once every transaction begun before this call has ended."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect() as connection:
        mine = connection.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
        connection.rollback()
        deadline = time.monotonic() + wait
        while True:
            horizon = connection.scalar(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
            connection.rollback()
            if horizon > mine:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the feed horizon stayed at {horizon} for {wait:.0f} s: "
                                     f"{_holders(connection)}")
            time.sleep(0.05)


def _holders(connection):
    rows = connection.execute(text(
        "SELECT datname, pid, state, now() - xact_start FROM pg_stat_activity "
        "WHERE backend_xid IS NOT NULL ORDER BY xact_start")).all()
    return "; ".join(f"{name} pid {pid} {state} for {age}" for name, pid, state, age in rows)
