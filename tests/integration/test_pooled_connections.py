"""PostgreSQL: a pooled connection the server ended (a restart, a failover, an idle timeout)
is found and replaced when it is taken from the pool, by the transaction's own BEGIN, so
the next registration succeeds as if nothing happened (shared.db._begin_as_ping)."""
import pytest
from sqlalchemy import create_engine, func, select, text

from services.registration.models import Registration
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
