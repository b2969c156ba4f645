"""The migrations that name a CloudEvent's id and type `cloudevent_id` and `cloudevent_type`
keep every row, upgraded from the schema before them with data in it and downgraded back,
on SQLite (which rebuilds the tables) and PostgreSQL."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from services.notifications.pipeline import deliveries
from shared.db import Database, UTCDateTime, alembic_config

BEFORE = {"registration": "3a91c0f2d7b4", "commitments": "6b1f0e4c2a93",
          "notifications": "9d4e2b7a5c18"}
NOW = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)
FACT = {"id": str(uuid.uuid4()), "type": "registration.confirmed",
        "subject": "events/3/registrations/1"}


def table(name, *columns):
    """A lightweight table of the given columns, as a migration sees it (no model)."""
    return sa.table(name, *[sa.column(c, UTCDateTime(timezone=True)) if c.endswith("_at")
                            else sa.column(c, sa.JSON()) if c == "context" else sa.column(c)
                            for c in columns])


def outbox(prefix):
    return table("outbox", "id", f"{prefix}_id", f"{prefix}_type", "payload", "created_at")


@pytest.fixture
def migrate(databases):
    """migrate(service) -> (Database at the schema before the renames, move(revision))."""
    opened = []

    def make(service):
        url = databases.url(service, BEFORE[service])
        db = Database(url)
        opened.append(db)

        def move(revision):
            db.engine.dispose()  # the migration works on its own connection; ours hold nothing
            config = alembic_config(service, url)
            if revision == "head":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)

        return db, move

    yield make
    for db in opened:
        db.dispose()


def rows(db, selectable):
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(selectable)]


@pytest.mark.parametrize("service", sorted(BEFORE))
def test_outbox_rows_keep_their_cloudevent(migrate, service):
    """A fact waiting to be relayed keeps its id and type under the new names, and back."""
    db, move = migrate(service)
    with db.engine.begin() as connection:
        connection.execute(sa.insert(outbox("event")).values(
            id=1, event_id=FACT["id"], event_type=FACT["type"], payload="{}", created_at=NOW))
    move("head")
    new = outbox("cloudevent")
    assert rows(db, sa.select(new.c.cloudevent_id, new.c.cloudevent_type)) == [
        (FACT["id"], FACT["type"])]
    with pytest.raises(IntegrityError), db.engine.begin() as connection:  # still unique
        connection.execute(sa.insert(new).values(
            id=2, cloudevent_id=FACT["id"], cloudevent_type=FACT["type"], payload="{}",
            created_at=NOW))
    move(BEFORE[service])
    old = outbox("event")
    assert rows(db, sa.select(old.c.event_id, old.c.event_type)) == [(FACT["id"], FACT["type"])]


def test_a_delivery_recorded_before_the_upgrade_is_found_after_it(migrate):
    """A CloudEvent redelivered after the upgrade finds its delivery (the idempotency key
    hashes the id's value, which the rename keeps) and the API's filter finds it too."""
    db, move = migrate("notifications")
    recipient, kind = "ana@example.org", "registration_confirmed"
    key = deliveries.idempotency_key(FACT["id"], kind, recipient)
    with db.engine.begin() as connection:
        connection.execute(sa.insert(table(
            "deliveries", "id", "idempotency_key", "kind", "recipient", "mailbox_key", "event_id",
            "event_type", "subject", "context", "message_id", "state", "attempts", "due_at",
            "state_changed_at", "created_at")).values(
            id=7, idempotency_key=key, kind=kind, recipient=recipient, mailbox_key=recipient,
            event_id=FACT["id"], event_type=FACT["type"], subject=FACT["subject"],
            context={"n": 1}, message_id=f"<{key[:32]}@abierto.test>", state=deliveries.SENT,
            attempts=1, due_at=NOW, state_changed_at=NOW, created_at=NOW))
    move("head")
    with db.transaction() as session:
        again = deliveries.record(session, FACT, kind, recipient, {"n": 1}, NOW,
                                  timedelta(minutes=2), "abierto.test")
        assert (again.id, again.state, again.context) == (7, deliveries.SENT, {"n": 1})
        assert (again.cloudevent_id, again.cloudevent_type) == (FACT["id"], FACT["type"])
        found, total = deliveries.search(session, 1, 20, cloudevent_id=FACT["id"])
        assert [d.id for d in found] == [7] and total == 1
    move(BEFORE["notifications"])
    old = table("deliveries", "id", "event_id", "event_type")
    assert rows(db, sa.select(old.c.id, old.c.event_id, old.c.event_type)) == [
        (7, FACT["id"], FACT["type"])]
