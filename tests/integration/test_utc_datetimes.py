"""UTCDateTime on a real SQLite file: stored as DATETIME's text in UTC, read back aware."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from shared.db import UTCDateTime

METADATA = MetaData()
MOMENTS = Table("moments", METADATA, Column("id", Integer, primary_key=True),
                Column("at", UTCDateTime))
MEXICO = timezone(timedelta(hours=-6))

pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def db(database_with):
    return database_with(METADATA)


def test_times_are_stored_in_utc_and_read_back_aware(db):
    given = [datetime(2026, 5, 1, 12, 30, tzinfo=MEXICO),
             datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc), None]
    with db.writing() as connection:
        connection.execute(insert(MOMENTS), [{"at": at} for at in given])
        # Text SQLite wrote itself (CURRENT_TIMESTAMP's, no fraction) reads as UTC too.
        connection.exec_driver_sql("INSERT INTO moments (at) VALUES ('2026-01-02 03:04:05')")
    with db.reading() as connection:
        text = [row[0] for row in connection.exec_driver_sql("SELECT at FROM moments ORDER BY id")]
        read = connection.scalars(select(MOMENTS.c.at).order_by(MOMENTS.c.id)).all()
    assert text == ["2026-05-01 18:30:00.000000", "2026-12-31 23:59:59.999999", None,
                    "2026-01-02 03:04:05"]
    assert read == [*given, datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)]
    assert all(at.utcoffset() == timedelta(0) for at in read if at is not None)


def test_a_naive_time_is_refused(db):
    with pytest.raises(Exception, match="naive datetime"):
        with db.writing() as connection:
            connection.execute(insert(MOMENTS), {"at": datetime(2026, 5, 1, 12, 30)})
