"""What a mirror sees through `changed_since`: every change once, in order, tombstones for
what left a list, the same cursor when nothing changed, and ETags on lists and resources."""
import base64
import re
import time

import pytest
from sqlalchemy import create_engine, text

from shared import changes
from tests.conftest import POSTGRES_URL
from tests.integration.horizon import settled
from tests.integration.problems import assert_problem


def feed(client, path, cursor, headers=None, per_page=100):
    """(items, next_cursor) of one page, once every write the test made is past the horizon."""
    settled(client.application.extensions["abierto"].db)
    response = client.get(path, query_string={"changed_since": cursor, "per_page": per_page},
                          headers=headers or {})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"items", "per_page", "next_cursor"}
    return body["items"], body["next_cursor"]


@pytest.mark.backends("postgresql")
def test_a_transaction_open_in_another_database_holds_the_feed_back_until_it_ends(
        registration_app, organiser_headers, future_event):
    """What an operator sees when another database on the same server keeps a transaction
    open (docs/operations.md): the feed answers no new rows and the same cursor, losing
    nothing; once it ends, the rows come. The other tests outwait such transactions
    (horizon.settled), as this one's last read does."""
    client = registration_app[0]
    elsewhere = create_engine(f"{POSTGRES_URL}/postgres")
    try:
        with elsewhere.connect() as connection:
            connection.execute(text("SELECT pg_current_xact_id()"))  # a transaction with an id
            made = client.post("/api/v1/events", json=future_event(title="Retenido"),
                               headers=organiser_headers).get_json()
            held = client.get("/api/v1/events", query_string={"changed_since": "0"}).get_json()
            assert (held["items"], held["next_cursor"]) == ([], "0")
            connection.rollback()
        items, _ = feed(client, "/api/v1/events", "0")
        assert [item["id"] for item in items] == [made["id"]]
    finally:
        elsewhere.dispose()


def test_events_feed_gives_each_change_then_the_same_cursor(
        registration_app, organiser_headers, future_event):
    """New and changed events come once each, oldest change first; then nothing, same cursor."""
    client = registration_app[0]
    first = client.post("/api/v1/events", json=future_event(title="Uno"), headers=organiser_headers)
    second = client.post("/api/v1/events", json=future_event(title="Dos"), headers=organiser_headers)
    items, cursor = feed(client, "/api/v1/events", "0")
    assert [item["title"]["es"] for item in items] == ["Uno", "Dos"]
    client.patch(f"/api/v1/events/{first.get_json()['id']}", json={"venue": "Otra sala"},
                 headers=organiser_headers)
    items, cursor = feed(client, "/api/v1/events", cursor)
    assert [(item["id"], item["venue"]) for item in items] == [(first.get_json()["id"], "Otra sala")]
    assert feed(client, "/api/v1/events", cursor) == ([], cursor)
    assert second.status_code == 201


def test_a_feed_pages_by_per_page(registration_app, organiser_headers, future_event):
    client = registration_app[0]
    for n in range(5):
        client.post("/api/v1/events", json=future_event(title=f"E{n}"), headers=organiser_headers)
    seen, cursor = [], "0"
    while True:
        items, cursor = feed(client, "/api/v1/events", cursor, per_page=2)
        if not items:
            break
        assert len(items) <= 2
        seen += [item["title"]["es"] for item in items]
    assert seen == [f"E{n}" for n in range(5)]


def test_cancelled_and_erased_registrations_come_as_tombstones(
        registration_app, organiser_headers, future_event, person):
    """A mirror of the attendee list lets a person go: only the id and `deleted`."""
    client, db, _ = registration_app
    event_id = client.post("/api/v1/events", json=future_event(capacity=10),
                           headers=organiser_headers).get_json()["id"]
    path = f"/api/v1/events/{event_id}/registrations"
    ids = [client.post(path, json=person(n), headers=organiser_headers).get_json()["id"]
           for n in range(3)]
    items, cursor = feed(client, path, "0", organiser_headers)
    assert [item["id"] for item in items] == ids and items[0]["email"] == "persona0@example.org"
    with db.transaction() as session:  # what erasure and cancelling do to the rows
        session.execute(text("DELETE FROM registrations WHERE id = :id"), {"id": ids[0]})
        session.execute(text("UPDATE registrations SET status = 'cancelled' WHERE id = :id"),
                        {"id": ids[1]})
    items, cursor = feed(client, path, cursor, organiser_headers)
    assert items == [{"id": ids[0], "deleted": True}, {"id": ids[1], "deleted": True}]
    assert feed(client, path, cursor, organiser_headers) == ([], cursor)


def test_a_tombstone_stays_in_its_own_list(registration_app, organiser_headers, future_event, person):
    client, db, _ = registration_app
    events = [client.post("/api/v1/events", json=future_event(), headers=organiser_headers)
              .get_json()["id"] for _ in range(2)]
    one = client.post(f"/api/v1/events/{events[0]}/registrations", json=person(1),
                      headers=organiser_headers).get_json()["id"]
    with db.transaction() as session:
        session.execute(text("DELETE FROM registrations WHERE id = :id"), {"id": one})
    assert feed(client, f"/api/v1/events/{events[1]}/registrations", "0", organiser_headers)[0] == []


def test_bad_cursors_and_filters_with_a_cursor_are_422(registration_app):
    client = registration_app[0]
    for cursor in ("yesterday", "c1.!!", "c1." + "A" * 70, "c1.LTE", "", "1.2.3", "-1.2",
                   "1" * 19 + ".1", "0.", ".5", "1.2\n"):
        assert_problem(client.get("/api/v1/events", query_string={"changed_since": cursor}),
                       422, "changed_since")
    assert_problem(client.get("/api/v1/events", query_string={"changed_since": "0", "when": "past"}),
                   422, "changed_since")


def test_a_cursor_is_any_position_the_document_allows_and_old_ones_still_read(
        registration_app, organiser_headers, future_event):
    """The document's pattern is the whole rule: a cursor past every change is an empty page
    that hands itself back, and a `c1.` cursor handed out before goes on where it was."""
    client = registration_app[0]
    client.post("/api/v1/events", json=future_event(), headers=organiser_headers)
    for _ in range(100):  # PostgreSQL: another database's transaction may hold the row back
        everything, newest = feed(client, "/api/v1/events", "0")
        if everything:
            break
        time.sleep(0.1)
    assert re.fullmatch(changes.PATTERN, newest) and everything
    for future in ("9" * 18 + ".0", "9" * 18 + "." + "9" * 18, "0" + "9" * 17 + ".0001"):
        assert feed(client, "/api/v1/events", future) == ([], future)
    legacy = "c1." + base64.urlsafe_b64encode(b"0.0").decode().rstrip("=")
    items, cursor = feed(client, "/api/v1/events", legacy)
    assert (items, cursor) == (everything, newest)
    assert feed(client, "/api/v1/events", "c1." + base64.urlsafe_b64encode(
        newest.encode()).decode().rstrip("=")) == ([], newest)


def test_etags_answer_304_until_something_changes(
        registration_app, organiser_headers, future_event):
    client = registration_app[0]
    event_id = client.post("/api/v1/events", json=future_event(),
                           headers=organiser_headers).get_json()["id"]
    for path in ("/api/v1/events", f"/api/v1/events/{event_id}"):
        etag = client.get(path).headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
    list_etag = client.get("/api/v1/events").headers["ETag"]
    client.patch(f"/api/v1/events/{event_id}", json={"venue": "Otra"}, headers=organiser_headers)
    assert client.get("/api/v1/events", headers={"If-None-Match": list_etag}).status_code == 200


def test_the_openapi_document_declares_cursors_tombstones_and_etags(registration_app):
    document = registration_app[0].get("/api/v1/openapi.json").get_json()
    listing = document["paths"]["/api/v1/events"]["get"]
    names = [p.get("name") or p.get("$ref", "").rsplit("/", 1)[-1] for p in listing["parameters"]]
    assert "changed_since" in names and "If-None-Match" in names
    assert "304" in listing["responses"] and "ETag" in listing["responses"]["200"]["headers"]
    page = document["components"]["schemas"]["EventPage"]["properties"]
    assert "next_cursor" in page
    assert {"$ref": "#/components/schemas/Tombstone"} in page["items"]["items"]["oneOf"]


def test_registrations_move_an_event_in_the_feed_only_when_its_seats_left_change(
        registration_app, make_event, register):
    """A mirror hears of an event again when what it shows changes: the seats left of an
    event with a capacity, as it fills. An event without a capacity shows none, and its
    registrations leave it as it was."""
    client = registration_app[0]
    limited, unlimited = make_event(capacity=10), make_event(capacity=None)
    _, cursor = feed(client, "/api/v1/events", "0")
    for n in (1, 2, 3):
        assert register(limited["id"], n).status_code == 201
        assert register(unlimited["id"], n).status_code == 201
    items, _ = feed(client, "/api/v1/events", cursor)
    assert [(item["id"], item["seats_left"]) for item in items] == [(limited["id"], 7)]
