"""The notifications lists' change feeds, on SQLite and PostgreSQL: deliveries, subscriptions,
a token's webhook endpoints and one endpoint's delivery log give each change once, oldest
first; what left a list comes as a tombstone, in its own list only."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from services.notifications import privacy
from services.notifications.app import create_app
from services.notifications.models import ApiToken, Delivery, Subscription
from services.notifications.pipeline import deliveries, subscriptions
from services.notifications.webhooks import recording
from shared import config
from shared.signing import Keys
from tests.integration.problems import assert_problem
from tests.integration.test_change_feeds import feed
from tests.integration.test_webhooks import milestone_fact

NOW = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)
LISTS = ("/api/v1/deliveries", "/api/v1/subscriptions", "/api/v1/webhooks/endpoints")
SCOPES = {"deliveries:read", "subscriptions:read", "webhooks:write"}


@pytest.fixture
def app(empty_database, new_token, bearer):
    """(client, db, headers(name)): the notifications API, allowed to call 127.0.0.1."""
    db = empty_database("notifications")
    settings = config.load("notifications", database_url=db.url, secret_key="t" * 40,
                           webhook_allow_private=True)
    client = create_app(settings, db=db, enqueue=lambda ids: None).test_client()
    return client, db, lambda name="portal": bearer(new_token(db, SCOPES, model=ApiToken, name=name))


def email(db, recipient):
    """An email recorded as the consumer records one; its id."""
    fact = {"id": str(uuid.uuid4()), "type": "registration.confirmed", "subject": "events/1"}
    with db.transaction() as session:
        return deliveries.record(session, fact, "registration_confirmed", recipient, {"n": 1},
                                 NOW, timedelta(minutes=2), "abierto.test").id


def calls(db, how_many):
    """Webhook calls recorded as the consumer records them: a milestone fact for each endpoint
    that asked for it; {endpoint id: its deliveries' ids, oldest first}."""
    recording.record_batch(db, [milestone_fact() for _ in range(how_many)], NOW,
                           timedelta(minutes=2))
    with db.transaction() as session:
        rows = session.execute(select(Delivery.endpoint_id, Delivery.id)
                               .where(Delivery.endpoint_id.is_not(None)).order_by(Delivery.id))
        made = {}
        for endpoint_id, delivery_id in rows:
            made.setdefault(endpoint_id, []).append(delivery_id)
        return made


def follower(db, address, topic="commitment:1"):
    with db.transaction() as session:
        row = Subscription(email=address, email_key=address.lower(), topic=topic, status="pending")
        session.add(row)
        session.flush()
        return row.id


def move(db, delivery_id, state):
    with db.transaction() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(state=state))


def endpoint(client, headers, url="http://127.0.0.1:9/hooks"):
    made = client.post("/api/v1/webhooks/endpoints", headers=headers, json={
        "url": url, "event_types": ["milestone.changed"], "contact_email": "ti@portal.example"})
    assert made.status_code == 201, made.get_data(as_text=True)
    return made.get_json()["id"]


def test_the_deliveries_feed_pages_then_gives_each_change_once(app):
    """Every delivery once, by per_page; a new state moves it; then nothing, the same cursor."""
    client, db, headers = app
    operator = headers()
    ids = [email(db, f"p{n}@example.org") for n in range(5)]
    seen, cursor = [], "0"
    while True:
        items, cursor = feed(client, "/api/v1/deliveries", cursor, operator, per_page=2)
        if not items:
            break
        assert len(items) <= 2
        seen += [item["id"] for item in items]
    assert seen == ids
    move(db, ids[1], deliveries.SENT)
    items, cursor = feed(client, "/api/v1/deliveries", cursor, operator)
    assert [(item["id"], item["state"]) for item in items] == [(ids[1], "sent")]
    assert feed(client, "/api/v1/deliveries", cursor, operator) == ([], cursor)


def test_an_erased_address_leaves_tombstones_in_deliveries_and_subscriptions(app, bus):
    """Erasure (ARCO) deletes the person's emails and subscriptions: mirrors get only ids."""
    client, db, headers = app
    operator = headers()
    email(db, "bea@example.org")
    gone = email(db, "ana@example.org")
    followed = follower(db, "Ana@Example.org")
    _, deliveries_cursor = feed(client, "/api/v1/deliveries", "0", operator)
    items, subscriptions_cursor = feed(client, "/api/v1/subscriptions", "0", operator)
    assert [(item["id"], item["email"]) for item in items] == [(followed, "Ana@Example.org")]
    privacy.erase(db, bus, Keys("test"), "ana@example.org", NOW)
    assert feed(client, "/api/v1/deliveries", deliveries_cursor, operator)[0] == [
        {"id": gone, "deleted": True}]
    assert feed(client, "/api/v1/subscriptions", subscriptions_cursor, operator)[0] == [
        {"id": followed, "deleted": True}]


def test_a_cancelled_subscription_is_a_tombstone_until_followed_again(app):
    """The organisers' list still shows it cancelled; a mirror lets the follower go."""
    client, db, headers = app
    operator = headers()
    one, other = follower(db, "ana@example.org"), follower(db, "bea@example.org")
    _, cursor = feed(client, "/api/v1/subscriptions", "0", operator)
    subscriptions.unsubscribe(db, one, NOW)
    items, cursor = feed(client, "/api/v1/subscriptions", cursor, operator)
    assert items == [{"id": one, "deleted": True}]
    listed = client.get("/api/v1/subscriptions", headers=operator).get_json()["items"]
    assert {(item["id"], item["status"]) for item in listed} == {(one, "cancelled"), (other, "pending")}
    subscriptions.confirm(db, one, NOW)
    items, _ = feed(client, "/api/v1/subscriptions", cursor, operator)
    assert [(item["id"], item["status"]) for item in items] == [(one, "confirmed")]


def test_a_token_syncs_its_own_endpoints_and_their_deletions_only(app):
    client, _db, headers = app
    portal, other = headers("portal"), headers("otro")
    mine = [endpoint(client, portal) for _ in range(2)]
    theirs = endpoint(client, other)
    items, cursor = feed(client, "/api/v1/webhooks/endpoints", "0", portal)
    assert [item["id"] for item in items] == mine and "secret" not in items[0]
    other_cursor = feed(client, "/api/v1/webhooks/endpoints", "0", other)[1]
    changed = client.patch(f"/api/v1/webhooks/endpoints/{mine[1]}", headers=portal,
                           json={"description": "Portal ciudadano"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert client.delete(f"/api/v1/webhooks/endpoints/{mine[0]}", headers=portal).status_code == 204
    assert client.delete(f"/api/v1/webhooks/endpoints/{theirs}", headers=other).status_code == 204
    items, cursor = feed(client, "/api/v1/webhooks/endpoints", cursor, portal)
    assert [(item["id"], item.get("description"), item.get("deleted")) for item in items] == [
        (mine[1], "Portal ciudadano", None), (mine[0], None, True)]
    assert feed(client, "/api/v1/webhooks/endpoints", other_cursor, other)[0] == [
        {"id": theirs, "deleted": True}]
    assert feed(client, "/api/v1/webhooks/endpoints", cursor, portal) == ([], cursor)


def test_an_endpoints_log_feed_has_its_own_calls_and_each_new_try(app):
    client, db, headers = app
    portal = headers()
    first, second = endpoint(client, portal), endpoint(client, portal)
    email(db, "ana@example.org")
    made = calls(db, 2)
    assert set(made) == {first, second} and len(made[first]) == 2
    log = f"/api/v1/webhooks/endpoints/{first}/deliveries"
    items, cursor = feed(client, log, "0", portal)
    assert [item["id"] for item in items] == made[first]
    move(db, made[first][0], deliveries.AWAITING_RETRY)
    items, cursor = feed(client, log, cursor, portal)
    assert [(item["id"], item["state"]) for item in items] == [(made[first][0], "awaiting_retry")]
    assert feed(client, log, cursor, portal) == ([], cursor)
    assert client.get(log, query_string={"changed_since": "0"},
                      headers=headers("otro")).status_code == 404


@pytest.mark.parametrize("path", [*LISTS, "/api/v1/webhooks/endpoints/{id}/deliveries"])
def test_bad_cursors_and_filters_with_a_cursor_are_422(app, path):
    client, _db, headers = app
    portal = headers()
    path = path.format(id=endpoint(client, portal))
    for cursor in ("yesterday", "c1.!!", "c1." + "A" * 70, "c1.LTE", ""):
        assert_problem(client.get(path, query_string={"changed_since": cursor}, headers=portal),
                       422, "changed_since")
    assert_problem(client.get("/api/v1/deliveries", headers=portal,
                              query_string={"changed_since": "0", "status": "sent"}),
                   422, "changed_since")


def test_the_openapi_document_declares_the_feeds(app):
    document = app[0].get("/api/v1/openapi.json").get_json()
    for path in (*LISTS, "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries"):
        names = [p.get("name") for p in document["paths"][path]["get"]["parameters"]]
        assert "changed_since" in names, path
    page = document["components"]["schemas"]["WebhookDeliveryPage"]["properties"]
    assert {"$ref": "#/components/schemas/Tombstone"} in page["items"]["items"]["oneOf"]
