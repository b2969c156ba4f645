"""A change feed's tombstones are kept FEED_TOMBSTONE_RETENTION, on SQLite and PostgreSQL:
older ones are pruned by each service's relay, and a mirror whose cursor is older than a
pruned deletion of its list is told to resync (410) instead of silently keeping the row."""
import time
from datetime import timedelta

from sqlalchemy import text

from services.notifications.models import FeedTombstone as NotificationTombstone
from services.registration.models import FeedTombstone as RegistrationTombstone
from shared import changes, config, outbox
from shared.db import utcnow
from tests.integration.problems import assert_problem
from tests.integration.test_change_feeds import feed
from tests.integration.test_webhooks import hooks_api, register  # noqa: F401

ENDPOINTS = "/api/v1/webhooks/endpoints"


def sync(client, path, cursor, headers=None, count=1):
    """(items, cursor) once `count` items came: on PostgreSQL a feed holds back what a
    transaction still running anywhere on the server may precede (other tests' too)."""
    items, deadline = [], time.monotonic() + 10
    while len(items) < count and time.monotonic() < deadline:
        more, cursor = feed(client, path, cursor, headers)
        items += more
        time.sleep(0 if more else 0.05)
    assert len(items) == count, items
    return items, cursor


def age(db, days):
    """Make every tombstone `days` old."""
    with db.transaction() as session:
        session.execute(text("UPDATE feed_tombstones SET deleted_at = :at"),
                        {"at": utcnow() - timedelta(days=days)})


def prune(db, tombstones, retention=timedelta(days=30)):
    return changes.prune_old(db, tombstones, retention)


def test_a_cursor_older_than_a_pruned_deletion_is_told_to_resync(hooks_api):
    client, db, headers, _ = hooks_api()
    portal, other = headers(), headers(name="otro")
    kept, gone = (register(client, portal, f"https://portal.example/{n}").get_json()["id"]
                  for n in range(2))
    register(client, other, "https://otro.example/hooks")
    _, before = sync(client, ENDPOINTS, "0", portal, 2)  # a mirror that then stops syncing
    _, others = sync(client, ENDPOINTS, "0", other)
    assert client.delete(f"{ENDPOINTS}/{gone}", headers=portal).status_code == 204
    items, after = sync(client, ENDPOINTS, before, portal)  # a mirror that syncs in time
    assert items == [{"id": gone, "deleted": True}]

    age(db, 29)
    assert prune(db, NotificationTombstone) is None  # within FEED_TOMBSTONE_RETENTION: kept
    assert feed(client, ENDPOINTS, before, portal)[0] == [{"id": gone, "deleted": True}]
    age(db, 31)
    assert prune(db, NotificationTombstone) == "pruned 1 feed tombstone(s)"

    late = client.get(ENDPOINTS, query_string={"changed_since": before}, headers=portal)
    assert_problem(late, 410)
    assert "changed_since=0" in late.get_json()["detail"]
    # the mirror that saw the deletion, another token's list, and a resync from 0 go on
    assert feed(client, ENDPOINTS, after, portal) == ([], after)
    assert feed(client, ENDPOINTS, others, other) == ([], others)
    items, _ = feed(client, ENDPOINTS, "0", portal)
    assert [item["id"] for item in items] == [kept]  # the record of the pruning never shows
    assert prune(db, NotificationTombstone) is None


def test_the_pruned_position_only_moves_forward(registration_app, organiser_headers,
                                               future_event):
    """Two deletions pruned in turns (or by two relays at once, in either order): a cursor
    between them is refused, one past both is not."""
    client, db, _ = registration_app
    ids = [client.post("/api/v1/events", json=future_event(title=f"E{n}"),
                       headers=organiser_headers).get_json()["id"] for n in range(3)]
    _, start = sync(client, "/api/v1/events", "0", count=3)
    with db.transaction() as session:
        session.execute(text("DELETE FROM events WHERE id = :id"), {"id": ids[0]})
    _, middle = sync(client, "/api/v1/events", start)
    with db.transaction() as session:
        session.execute(text("DELETE FROM events WHERE id = :id"), {"id": ids[1]})
    _, end = sync(client, "/api/v1/events", middle)
    with db.transaction() as session:  # the second deletion pruned first, then the first
        session.execute(text("UPDATE feed_tombstones SET deleted_at = :at WHERE item_id = :id"),
                        {"at": utcnow() - timedelta(days=40), "id": ids[1]})
    assert prune(db, RegistrationTombstone) == "pruned 1 feed tombstone(s)"
    age(db, 40)
    assert prune(db, RegistrationTombstone) == "pruned 1 feed tombstone(s)"
    for cursor in (start, middle):
        assert_problem(client.get("/api/v1/events", query_string={"changed_since": cursor}), 410)
    assert feed(client, "/api/v1/events", end) == ([], end)
    assert [item["id"] for item in feed(client, "/api/v1/events", "0")[0]] == [ids[2]]


def test_each_services_relay_prunes_hourly_and_an_outage_stops_nothing(registration_app,
                                                                       monkeypatch):
    client, db, _ = registration_app
    with db.transaction() as session:
        session.execute(text(
            "INSERT INTO feed_tombstones (kind, item_id, scope, change_seq, change_xid, deleted_at) "
            "VALUES ('events', 99, NULL, 1, 0, :at)"), {"at": utcnow() - timedelta(days=31)})
    settings = config.load("registration", database_url=db.url)
    assert settings.feed_tombstone_retention == timedelta(days=30)
    rounds, done = [], []

    def upkeep():
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("a bug in one round")  # logged; the relay goes on
        done.append(changes.prune_old(db, RegistrationTombstone, settings.feed_tombstone_retention))

    monkeypatch.setattr(outbox, "UPKEEP_EVERY", 0.0)
    monkeypatch.setattr(outbox, "relay_once", lambda *args: 0)
    outbox.run_relay(db, None, None, "s", idle_sleep=0, upkeep=upkeep,
                     stop=lambda: len(rounds) >= 3)
    assert done == ["pruned 1 feed tombstone(s)", None]
    with db.transaction() as session:
        assert session.scalar(text(
            "SELECT count(*) FROM feed_tombstones WHERE kind = 'events'")) == 0
