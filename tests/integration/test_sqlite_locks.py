"""On SQLite a unit of work that writes holds the write lock from its start, so a
read-then-write (a seat counted, then taken) is never overtaken; one that only reads holds
none, so it never holds up a writer."""
import sqlite3

import pytest
from sqlalchemy import select

from services.registration.models import Event


pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def sqlite_db(empty_database):
    return empty_database("registration")


def another_writer_can_begin(db):
    other = sqlite3.connect(db.url.split("///", 1)[1], timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        other.close()


@pytest.mark.parametrize("unit", ["writing", "transaction"])
def test_a_writing_unit_holds_the_write_lock_before_its_first_write(sqlite_db, unit):
    with getattr(sqlite_db, unit)() as connection:
        connection.execute(select(Event.id)).all()  # it has only read so far
        assert not another_writer_can_begin(sqlite_db)
    assert another_writer_can_begin(sqlite_db)


def test_a_reading_unit_holds_no_write_lock(sqlite_db):
    with sqlite_db.reading() as connection:
        connection.execute(select(Event.id)).all()
        assert another_writer_can_begin(sqlite_db)
        connection.execute(select(Event.id)).all()
