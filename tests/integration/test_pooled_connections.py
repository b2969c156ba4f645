"""PostgreSQL: a pooled connection the server ended (a restart, a failover, an idle timeout)
is found and replaced when it is taken from the pool, by the transaction's own BEGIN, so
the next registration succeeds as if nothing happened (shared.db._begin_as_ping)."""
import pytest
from sqlalchemy import create_engine, exc, func, select, text

from services.registration.models import Registration
from shared.db import Database
from tests.conftest import POSTGRES_URL


@pytest.mark.backends("postgresql")
def test_a_registration_after_the_server_ended_the_pooled_connection_succeeds(
        registration_app, make_event, person):
    client, db, _ = registration_app
    event_id = make_event()["id"]
    path = f"/api/v1/events/{event_id}/registrations"
    assert client.post(path, json=person(1)).status_code == 202
    with db.engine.connect() as connection:  # the pooled connection the app just used
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()

    assert client.post(path, json=person(2)).status_code == 202

    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Registration)) == 2


@pytest.mark.backends("postgresql")
def test_only_the_engine_made_for_it_commits_without_waiting_for_the_disk(empty_database):
    db = empty_database("notifications")
    with_options = Database(f"{db.url}?options=-c%20statement_timeout%3D5000")
    try:
        assert _settings(db.async_commits()) == ("off", "0")
        assert _settings(db.engine) == ("on", "0")  # the service's own connections wait
        assert _settings(with_options.async_commits()) == ("off", "5s")  # the URL's are kept
    finally:
        with_options.dispose()
    with db.transaction(durable=False) as session:  # what a webhook call's outcome is written in
        assert session.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
    with db.transaction() as session:
        assert session.execute(text("SHOW synchronous_commit")).scalar_one() == "on"


def _settings(engine):
    """(synchronous_commit, statement_timeout) of a connection of `engine`."""
    with engine.connect() as connection:
        return tuple(connection.exec_driver_sql(f"SHOW {name}").scalar_one()
                     for name in ("synchronous_commit", "statement_timeout"))


@pytest.mark.backends("postgresql")
def test_autocommitting_keeps_its_connections_between_uses_one_per_user_at_a_time(empty_database):
    db = empty_database("registration")
    with db.autocommitting() as first:
        with db.autocommitting() as second:  # another thread's, meanwhile
            pids = {_pid(first), _pid(second)}
    assert len(pids) == 2
    for _ in range(3):  # later uses get those again, none made anew
        with db.autocommitting() as connection:
            assert _pid(connection) in pids
            assert connection.exec_driver_sql("SHOW transaction_isolation").scalar_one()
    size = db.autocommits().pool.size()
    held = [db.autocommitting() for _ in range(size + 2)]
    kept = {_pid(each.__enter__()) for each in held}
    for each in held:
        each.__exit__(None, None, None)
    assert len(kept) == size + 2
    assert db.autocommits().pool.checkedout() == size  # the ones over the pool's size went back


@pytest.mark.backends("postgresql")
def test_autocommitting_drops_every_kept_connection_when_the_server_ended_one(empty_database):
    db = empty_database("registration")
    with db.autocommitting() as first, db.autocommitting() as second:
        pids = [_pid(first), _pid(second)]
    admin = create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) AS pid"),
                           {"pids": pids})
    admin.dispose()
    with pytest.raises(exc.OperationalError), db.autocommitting() as connection:
        connection.exec_driver_sql("SELECT 1")
    with db.autocommitting() as connection:  # not the other ended one: a new connection
        assert _pid(connection) not in pids
    assert db.autocommits().pool.checkedout() == 1


def _pid(connection):
    return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
