"""Webhook calls with the database away, on a real database and a real HTTP receiver: the
email path's outage handling (pipeline/tasks.py, unrecorded.py) covers them too, so a call is
neither lost nor made twice, whichever step the outage falls on."""
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from services.notifications.models import Delivery, WebhookEndpoint
from services.notifications.pipeline import sweeper, tasks, unrecorded
from services.notifications.webhooks import recording, transport
from shared.db import utcnow
from tests.conftest import _admin
from tests.integration.test_sending_during_outage import Outage, _state, bus, setting  # noqa: F401
from tests.integration.test_webhook_secrets import send_one_fact
from tests.integration.test_webhooks import endpoint_row, milestone_fact, receiver  # noqa: F401


class Refusing(Outage):
    """PostgreSQL away for good until it ends: the test's database refuses new connections
    and its open ones are ended, so a reconnection fails too (as while a server restarts).
    A webhook's record is a transaction of its own after the call, so merely ending the
    connections, as the email tests do, would let it reconnect at once."""

    away = False

    def begin(self):
        self.away = True
        if self.db.url.startswith("sqlite"):
            return super().begin()
        self._allow(False)
        self._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{self.db.engine.url.database}'")

    def end(self):
        """Bring it back (once, whoever asks first: the test or its teardown)."""
        if not self.away:
            return
        self.away = False
        if self.db.url.startswith("sqlite"):
            super().end()
        else:
            self._allow(True)

    def _allow(self, allowed):
        self._admin(f'ALTER DATABASE "{self.db.engine.url.database}" '
                    f"ALLOW_CONNECTIONS {str(allowed).lower()}")

    @staticmethod
    def _admin(statement):
        admin = _admin()  # on the server's `postgres` database: the test's refuses us too
        with admin.connect() as connection:
            connection.execute(text(statement))
        admin.dispose()


@pytest.fixture
def hooks(setting, monkeypatch):
    """(notifications, outage): `setting`'s worker, allowed to call 127.0.0.1, retrying at once."""
    notifications, _inbox, outage = setting
    made = replace(notifications, webhooks=transport.adapter(True), settings=replace(
        notifications.settings, webhook_allow_private=True, webhook_retry_delays=(0.0,)))
    monkeypatch.setattr(tasks, "collaborators", made)
    outage = Refusing(outage.db, outage.folder)
    yield made, outage
    outage.end()  # even if the test failed half-way: the next test needs its database


def _sweep(notifications, after_outage=False):
    return sweeper.sweep_once(notifications, enqueue=tasks.send_deliveries,
                              after_outage=after_outage)


def test_a_call_answered_while_the_database_went_away_is_recorded_not_made_again(hooks, receiver):
    notifications, outage = hooks
    endpoint_id, _ = endpoint_row(notifications.db, receiver.url,
                                  keys=notifications.settings.keys)
    with notifications.db.transaction() as session:  # failing before: the 2xx must clear it
        session.get(WebhookEndpoint, endpoint_id).failing_since = session.get(
            WebhookEndpoint, endpoint_id).created_at
    receiver.on_post = outage.begin  # the receiver takes it; the record cannot get in
    try:
        delivery_id, outcome = send_one_fact(notifications.db)
    finally:
        receiver.on_post = None
        outage.end()
    assert outcome == ["sent"] and len(receiver.received) == 1
    assert unrecorded.waiting(notifications.bus.redis) == {delivery_id: 204}
    assert _state(notifications.db, delivery_id) == "inflight"

    # Stale at once (stale_after 0): without the note in Redis, this sweep would call again.
    assert _sweep(notifications) == []
    assert _state(notifications.db, delivery_id) == "sent"
    assert unrecorded.waiting(notifications.bus.redis) == {}
    assert len(receiver.received) == 1
    with notifications.db.transaction() as session:
        assert session.scalar(select(WebhookEndpoint.failing_since)) is None
        # the call history shows the answer, as for a call recorded at once
        assert session.get(Delivery, delivery_id).last_status_code == 204


def test_a_failed_call_the_database_could_not_record_is_retried_once_it_is_back(hooks, receiver):
    notifications, outage = hooks
    endpoint_row(notifications.db, receiver.url, keys=notifications.settings.keys)
    receiver.answers = [503]
    receiver.on_post = outage.begin
    try:
        delivery_id, outcome = send_one_fact(notifications.db)
    finally:
        receiver.on_post = None
        outage.end()
    assert outcome == [tasks.DATABASE_AWAY]  # left claimed, for the sweeper
    assert unrecorded.waiting(notifications.bus.redis) == {}
    assert _state(notifications.db, delivery_id) == "inflight"
    assert _sweep(notifications, after_outage=True) == [delivery_id]
    assert _state(notifications.db, delivery_id) == "sent"
    assert [call.headers["webhook-id"] for call in receiver.received] == [
        receiver.received[0].headers["webhook-id"]] * 2  # the retry, with its webhook-id


def test_a_call_whose_endpoint_cannot_be_read_is_not_made(hooks, receiver):
    notifications, outage = hooks
    endpoint_row(notifications.db, receiver.url, keys=notifications.settings.keys)
    (delivery_id,) = recording.record_batch(notifications.db, [milestone_fact()], utcnow(),
                                            timedelta(seconds=60))
    (claimed,) = tasks.claim(notifications.db, [delivery_id])
    outage.begin()
    try:
        assert tasks.send_one(notifications, claimed) == tasks.DATABASE_AWAY
    finally:
        outage.end()
    assert receiver.received == []
    assert _sweep(notifications, after_outage=True) == [delivery_id]
    assert _state(notifications.db, delivery_id) == "sent" and len(receiver.received) == 1
