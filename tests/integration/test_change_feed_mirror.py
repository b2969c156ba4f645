"""A mirror that syncs with `changed_since` while writers commit concurrently ends equal to
the source, tombstones included, for a registration list and a notifications one; on
PostgreSQL, a row that took its number first and commits last is still handed out
(shared.changes says why)."""
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, event, select, update

from services.notifications.models import ApiToken as NotificationsToken, Subscription
from services.registration.models import Event
from tests.integration.horizon import settled

STARTS = datetime(2031, 5, 31, 16, tzinfo=timezone.utc)


def new_event(session, venue):
    event = Event(title="Espejo", starts_at=STARTS, ends_at=STARTS + timedelta(hours=2),
                  timezone="America/Chihuahua", host_organization="Municipio", venue=venue)
    session.add(event)
    session.flush()
    return event.id


def new_subscription(session, email):
    subscription = Subscription(email=email, email_key=uuid.uuid4().hex, topic="commitment:1")
    session.add(subscription)
    session.flush()
    return subscription.id


@dataclass(frozen=True)
class Listed:
    """A list with a change feed, and the one field its mirror keeps."""

    app: str  # the fixture serving it
    path: str
    model: type
    field: str
    new: object  # new(session, value) -> id
    scopes: tuple = ()  # of a token that may read it; none: public


LISTS = {"events": Listed("registration_app", "/api/v1/events", Event, "venue", new_event),
         "subscriptions": Listed("deliveries_app", "/api/v1/subscriptions", Subscription,
                                 "email", new_subscription, ("subscriptions:read",))}


class Mirror:
    """What an integrator keeps: id -> the field, brought up to date through the feed."""

    def __init__(self, client, listed=LISTS["events"], headers=None):
        self.client, self.listed, self.headers = client, listed, headers or {}
        self.cursor, self.rows = "0", {}

    def sync(self):
        while True:
            body = self.client.get(self.listed.path, headers=self.headers, query_string={
                "changed_since": self.cursor, "per_page": 7}).get_json()
            for item in body["items"]:
                if item.get("deleted"):
                    self.rows.pop(item["id"], None)
                else:
                    self.rows[item["id"]] = item[self.listed.field]
            self.cursor = body["next_cursor"]
            if not body["items"]:
                return


def source(db, listed=LISTS["events"]):
    with db.transaction() as session:
        return dict(session.execute(select(listed.model.id,
                                           getattr(listed.model, listed.field))).all())


def run_writer(db, listed, ops, pauses):
    """One writer: each op its own transaction, held open a moment before its commit."""
    mine, model = [], listed.model
    for (kind, pick), pause in zip(ops, pauses):
        with db.transaction() as session:
            if kind == "insert" or not mine:
                mine.append(listed.new(session, f"v{random.random()}@example.org"))
            elif kind == "update":
                session.execute(update(model).where(model.id == mine[pick % len(mine)])
                                .values({listed.field: f"v{random.random()}@example.org"}))
            else:
                session.execute(delete(model).where(model.id == mine.pop(pick % len(mine))))
            time.sleep(pause)


WRITERS = st.lists(st.lists(st.tuples(st.sampled_from(["insert", "update", "delete"]),
                                      st.integers(0, 9)), min_size=1, max_size=12),
                   min_size=1, max_size=4)


@pytest.mark.parametrize("name", LISTS)
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(writers=WRITERS, pauses=st.lists(st.sampled_from([0, 0, 0.001, 0.004]), min_size=12,
                                        max_size=12))
def test_a_mirror_synced_during_concurrent_writes_ends_equal(request, backend, new_token, bearer,
                                                            name, writers, pauses):
    listed = LISTS[name]
    client, db, _ = request.getfixturevalue(listed.app)  # on `backend`: named, so both run
    headers = bearer(new_token(db, listed.scopes, model=NotificationsToken)) if listed.scopes else {}
    mirror = Mirror(client, listed, headers)
    threads = [threading.Thread(target=run_writer, args=(db, listed, ops, pauses))
               for ops in writers]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        mirror.sync()  # mid-flight: rows of open transactions must neither show nor be skipped
    for thread in threads:
        thread.join()
    settled(db)  # another database's open transaction holds the horizon back: outwait it
    mirror.sync()
    assert mirror.rows == source(db, listed)


# SQLite runs one writer at a time: its commits come in counter order, nothing to race.
@pytest.mark.backends("postgresql")
def test_a_row_that_commits_after_a_later_one_is_not_skipped(registration_app, backend):
    """Seq 10 taken, seq 11 taken and committed, a mirror syncs, then 10 commits."""
    client, db, _ = registration_app
    mirror = Mirror(client)
    early = db.sessions()
    early.begin()
    first = new_event(early, "first")  # takes its number, does not commit yet
    with db.transaction() as session:
        second = new_event(session, "second")  # a higher number, committed at once
    mirror.sync()
    assert first not in mirror.rows and second not in mirror.rows  # held back, not passed
    early.commit()
    early.close()
    settled(db)
    mirror.sync()
    assert mirror.rows == {first: "first", second: "second"} == source(db)


# SQLite runs one writer at a time: its commits come in counter order, nothing to race.
@pytest.mark.backends("postgresql")
def test_a_row_that_commits_while_a_feed_is_read_is_not_skipped(registration_app, backend):
    """A feed reads rows, then tombstones: a row still running for the first read and a later
    deletion committed before the second must both wait for the same horizon."""
    client, db, _ = registration_app
    mirror = Mirror(client)
    with db.transaction() as session:
        gone = new_event(session, "gone")
    mirror.sync()
    early = db.sessions()
    early.begin()
    first = new_event(early, "first")  # the older transaction, still running
    with db.transaction() as session:
        session.execute(delete(Event).where(Event.id == gone))  # a younger one, committed

    def commit_early(conn, cursor, statement, *_):
        if "feed_tombstones" in statement and early.in_transaction():
            early.commit()  # between the feed's read of rows and its read of tombstones

    event.listen(db.engine, "before_cursor_execute", commit_early)
    try:
        mirror.sync()
    finally:
        event.remove(db.engine, "before_cursor_execute", commit_early)
        early.close()
    mirror.sync()
    assert mirror.rows == {first: "first"} == source(db)
