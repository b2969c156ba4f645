"""shared.prepared on real SQLite and PostgreSQL databases: what it writes and reads is what
execute() does, and its errors are execute()'s."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import (Column, Integer, MetaData, String, Table, bindparam, exc, insert, select,
                        update)

from sqlalchemy import text

from shared.db import UTCDateTime, utcnow
from shared.prepared import Prepared

METADATA = MetaData()
THINGS = Table("things", METADATA, Column("id", Integer, primary_key=True),
               Column("name", String(20), unique=True, nullable=False),
               Column("size", Integer, default=7),
               Column("at", UTCDateTime, nullable=False),
               Column("updated_at", UTCDateTime, default=utcnow, onupdate=utcnow))
ADD = Prepared(insert(THINGS).returning(THINGS.c.id, THINGS.c.at, THINGS.c.updated_at))
RESIZE = Prepared(update(THINGS).where(THINGS.c.id == bindparam("thing_id")))
FIND = Prepared(select(THINGS).where(THINGS.c.name == bindparam("wanted")))


@pytest.fixture
def db(database_with):
    return database_with(METADATA)


def stored(db):
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT name, size, CAST(at AS TEXT), updated_at IS NOT NULL FROM things ORDER BY id"))]


def test_rows_are_written_and_read_as_execute_does(db):
    at = datetime(2026, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=-6)))
    with db.writing() as connection:
        added = ADD.first(connection, {"name": "prepared", "at": at})
        connection.execute(insert(THINGS), {"name": "executed", "at": at})
    assert added["at"] == at and added["at"].tzinfo is not None  # UTCDateTime both ways
    assert added["updated_at"] is not None  # the column's default, evaluated per run
    prepared, executed = stored(db)
    assert prepared[1:] == executed[1:] and prepared[1] == 7 and prepared[3]
    with db.writing() as connection:
        assert FIND.first(connection, {"wanted": "nobody"}) is None
        before = FIND.first(connection, {"wanted": "prepared"})
        RESIZE.first(connection, {"thing_id": added["id"], "size": 9})
        after = FIND.first(connection, {"wanted": "prepared"})
    assert after["size"] == 9 and after["updated_at"] > before["updated_at"]  # its onupdate


def test_a_failed_statement_raises_sqlalchemys_error_and_the_transaction_keeps_nothing(db):
    with pytest.raises(exc.IntegrityError):
        with db.writing() as connection:
            ADD.first(connection, {"name": "first", "at": utcnow()})
            ADD.first(connection, {"name": "first", "at": utcnow()})
    assert stored(db) == []
    with db.writing() as connection:  # the same pooled connection, and its cursor, again
        ADD.first(connection, {"name": "first", "at": utcnow()})
    assert [name for name, *_ in stored(db)] == ["first"]


@pytest.mark.backends("postgresql")
def test_a_connection_the_server_ended_is_dropped_from_the_pool_as_execute_does(db):
    with db.engine.connect() as connection:
        FIND.first(connection, {"wanted": "nobody"})
        with db.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"),
                          {"pid": connection.connection.dbapi_connection.info.backend_pid})
        with pytest.raises(exc.OperationalError) as raised:
            FIND.first(connection, {"wanted": "nobody"})
        assert raised.value.connection_invalidated and connection.invalidated
    with db.engine.connect() as connection:  # a new one
        assert FIND.first(connection, {"wanted": "nobody"}) is None
