"""An outage is told apart from a bug, waited out with a capped backoff, and said twice:
when it begins and when it ends."""
import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import exc

from shared import outages

log = logging.getLogger("test.outages")


def _dbapi(kind, invalidated=False):
    return kind("SELECT 1", {"email": "ana@example.org"}, Exception("server closed the connection"),
                connection_invalidated=invalidated)


def test_a_database_that_cannot_answer_is_away_and_a_wrong_statement_is_not():
    assert outages.database_away(_dbapi(exc.OperationalError))
    assert outages.database_away(_dbapi(exc.InterfaceError))
    assert outages.database_away(exc.TimeoutError("no pooled connection in time"))
    assert outages.database_away(_dbapi(exc.DBAPIError, invalidated=True))
    assert not outages.database_away(_dbapi(exc.IntegrityError))
    assert not outages.database_away(_dbapi(exc.ProgrammingError))
    assert not outages.database_away(ValueError("a bug"))
    assert outages.away(RedisConnectionError("refused")) and not outages.database_away(
        RedisConnectionError("refused"))


def test_the_cause_is_one_line_and_never_the_parameters():
    said = outages.cause(_dbapi(exc.OperationalError))
    assert said == "OperationalError: server closed the connection"
    assert "ana@example.org" not in said


def test_one_line_when_it_begins_one_when_it_ends_and_waits_double_up_to_the_cap(caplog):
    now = [100.0]
    outage = outages.Outage("the database", log, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger=log.name):
        outage.recovered()  # no outage: nothing to say
        waits = [outage.failed(_dbapi(exc.OperationalError)) for _ in range(10)]
        now[0] += 42.5
        outage.recovered()
        outage.recovered()
    assert waits == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "the database is unavailable", "the database answers again, after 42.5 s"]
    assert not outage.ongoing and outage.failed(ValueError()) == 0.5  # the next starts over
