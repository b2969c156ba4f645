"""The worker and the sweeper with the database away, on a real database and SMTP server:
an email is neither lost nor sent twice, whichever step the outage falls on."""
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from services.mailsink.server import serve
from services.notifications import wiring
from services.notifications.celery_app import app as celery
from services.notifications.models import Delivery
from services.notifications.pipeline import sweeper, tasks, unrecorded
from shared import config
from shared.bus import Bus
from shared.db import Database, upgrade
from shared.devstack import free_port
from tests.e2e.harness import Inbox
from tests.integration.test_sending import confirmation, queue


class Outage:
    """Takes the test's database away and brings it back: SQLite's folder becomes a file;
    PostgreSQL's connections are ended (as a restart ends them)."""

    def __init__(self, db, folder):
        self.db, self.folder = db, folder

    def begin(self):
        if self.db.url.startswith("sqlite"):
            self.db.engine.dispose()
            self.folder.rename(self.folder.with_name("elsewhere"))
            self.folder.write_text("not a folder")
        else:
            with Database(self.db.url).engine.connect() as connection:
                connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))

    def end(self):
        if self.db.url.startswith("sqlite"):
            self.folder.unlink()
            self.folder.with_name("elsewhere").rename(self.folder)


class TakesDatabaseAway(Inbox):
    """An SMTP server that, as it takes a message, ends the sender's database connection."""

    outage = None

    def refuse(self, envelope):
        if self.outage:
            self.outage.begin()
        return None


@pytest.fixture
def bus():
    """Redis, on a database no other test empties (the note must outlive the test's steps)."""
    made = Bus.from_url("redis://127.0.0.1:6379/11")
    made.redis.delete(unrecorded.KEY, unrecorded.STATUS_KEY)
    yield made
    made.redis.delete(unrecorded.KEY, unrecorded.STATUS_KEY)


@pytest.fixture
def setting(backend, tmp_path, database, bus, monkeypatch):
    """(notifications, inbox, outage): a worker's collaborators on a database of this test's
    own, whose sweeper calls a row stale at once (so a repeat would show), and Redis."""
    if backend == "sqlite":
        folder = tmp_path / "data"
        url = f"sqlite:///{folder / 'notifications.db'}"
        upgrade("notifications", url)
        db = Database(url)
    else:
        db, folder = database("notifications"), None
    inbox, port = TakesDatabaseAway(tmp_path / "mail"), free_port()
    controller = serve(None, "127.0.0.1", port, handler=inbox)
    settings = config.load("notifications", database_url=db.url, smtp_host="127.0.0.1",
                           smtp_port=port, smtp_timeout=3.0, mail_from="Abierto <a@abierto.test>",
                           stale_after=0.0)
    notifications = replace(wiring.build(settings), db=db, bus=bus)
    monkeypatch.setattr(tasks, "collaborators", notifications)
    monkeypatch.setitem(celery.conf, "task_soft_time_limit", 2)  # a task waits 1 s at most
    yield notifications, inbox, Outage(db, folder)
    notifications.mailer._close()
    controller.stop()
    if backend == "sqlite":
        db.dispose()


def _state(db, delivery_id):
    with db.transaction() as session:
        return session.scalar(select(Delivery.state).where(Delivery.id == delivery_id))


def test_sent_while_the_database_went_away_is_recorded_by_the_sweeper_not_sent_again(setting):
    notifications, inbox, outage = setting
    (delivery_id,) = queue(notifications.db, "registration_confirmed",
                           [confirmation("ana@example.org")])
    inbox.outage = outage
    try:
        assert tasks.send_deliveries([delivery_id]) == ["sent"]
    finally:
        inbox.outage = None
        outage.end()
    assert unrecorded.waiting(notifications.bus.redis) == {delivery_id: None}
    assert _state(notifications.db, delivery_id) == "inflight"  # the record did not get in

    # Stale at once (stale_after 0): without the note in Redis, this sweep would send it again.
    assert sweeper.sweep_once(notifications, enqueue=tasks.send_deliveries) == []
    assert _state(notifications.db, delivery_id) == "sent"
    assert unrecorded.waiting(notifications.bus.redis) == {}
    assert len(inbox.to("ana@example.org")) == 1


def test_a_task_that_finds_the_database_away_leaves_its_rows_to_the_sweeper(setting):
    notifications, inbox, outage = setting
    ids = queue(notifications.db, "registration_confirmed",
                [confirmation(f"p{i}@example.org") for i in range(3)])
    outage.begin()
    if outage.folder is None:  # PostgreSQL: a closed port for the task's own database
        away = replace(notifications, db=Database(
            f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"))
        tasks.collaborators = away
    try:
        assert tasks.send_deliveries(ids) == []  # waited, then gave up
    finally:
        outage.end()
        tasks.collaborators = notifications
    assert not inbox.messages
    assert {_state(notifications.db, i) for i in ids} == {"queued"}

    # Their lease is not over, but after an outage the sweeper queues them all.
    assert sweeper.sweep_once(notifications, enqueue=tasks.send_deliveries,
                              after_outage=True) == ids
    assert {_state(notifications.db, i) for i in ids} == {"sent"}
    assert all(len(inbox.to(f"p{i}@example.org")) == 1 for i in range(3))


@pytest.mark.backends("postgresql")
def test_the_emails_after_one_sent_while_the_database_went_away_go_once_each(setting):
    # The task's records connection ends under its first email, after the UPDATE and before
    # the COMMIT: that email is noted in Redis, the next ones are recorded on a new one.
    notifications, inbox, outage = setting
    ids = queue(notifications.db, "registration_confirmed",
                [confirmation(f"q{i}@example.org") for i in range(3)])
    inbox.outage = outage
    ending = outage.begin

    def once():
        inbox.outage = None
        ending()

    outage.begin = once
    assert tasks.send_deliveries(ids) == ["sent", "sent", "sent"]
    assert unrecorded.waiting(notifications.bus.redis) == {ids[0]: None}
    assert [_state(notifications.db, i) for i in ids] == ["inflight", "sent", "sent"]

    sweeper.sweep_once(notifications, enqueue=tasks.send_deliveries)  # stale at once
    assert {_state(notifications.db, i) for i in ids} == {"sent"}
    assert all(len(inbox.to(f"q{i}@example.org")) == 1 for i in range(3))
