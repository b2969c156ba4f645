"""ARCO for followers: the topics an address follows can be seen and erased, leaving a fact."""
from datetime import datetime, timezone

from services.notifications import privacy
from services.notifications.models import Subscription
from shared.signing import Keys

NOW = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)


def follow(db, email, topic, status):
    with db.transaction() as session:
        row = Subscription(email=email, email_key=email.lower(), topic=topic, language="es",
                           status=status, created_at=NOW)
        session.add(row)
        session.flush()
        return row.id


def test_export_lists_an_addresss_subscriptions_and_nobody_elses(empty_database):
    db = empty_database("notifications")
    mine = [follow(db, "Ana@example.org", "commitment:1", "confirmed"),
            follow(db, "ana@example.org", "commitment:2", "cancelled")]
    follow(db, "bea@example.org", "commitment:1", "confirmed")
    items = privacy.export_subscriptions(db, " ANA@example.org")
    assert [(i["id"], i["topic"], i["status"]) for i in items] == [
        (mine[0], "commitment:1", "confirmed"), (mine[1], "commitment:2", "cancelled")]
    assert privacy.export_subscriptions(db, "nadie@example.org") == []


def test_erase_deletes_the_subscriptions_and_says_the_live_ones_were_cancelled(
        bus, empty_database, outbox_facts):
    db = empty_database("notifications")
    live = follow(db, "ana@example.org", "commitment:1", "confirmed")
    follow(db, "ana@example.org", "commitment:2", "cancelled")
    kept = follow(db, "bea@example.org", "commitment:1", "confirmed")

    assert privacy.erase(db, bus, Keys("test"), "ANA@example.org", NOW) == 2

    assert [i["id"] for i in privacy.export_subscriptions(db, "bea@example.org")] == [kept]
    assert privacy.export_subscriptions(db, "ana@example.org") == []
    (fact,) = outbox_facts(db)
    assert fact["type"] == "subscription.cancelled"
    assert fact["data"]["subscription"]["id"] == live
