"""The feeds people and sites subscribe to, read as a calendar app, a map and OGP's form would:
the .ics parsed by icalendar, the GeoJSON checked by the `geojson` package and RFC 7946's
rules, the Open Gov Week export in the form's columns (real app, both databases)."""
import csv
import io
from datetime import datetime, timedelta, timezone

import geojson
import pytest
from icalendar import Calendar
from sqlalchemy import text

pytestmark = pytest.mark.usefixtures("backend")
HOST = "abierto.test"  # PUBLIC_BASE_URL's host in the integration settings
NOW = datetime.now(timezone.utc)


def _iso(moment):
    return moment.isoformat()


@pytest.fixture
def events(registration_app, make_event, organiser_headers):
    """Upcoming, cancelled, postponed, recently ended, long ended, and one without a place
    on the map; the upcoming one has an English title."""
    client, db, _ = registration_app
    made = {
        "upcoming": make_event(category="Access to Information — Seminar/Panel"),
        "cancelled": make_event(title="Foro cancelado"),
        "postponed": make_event(title="Foro pospuesto"),
        "recent": make_event(title="Taller reciente", starts_at=_iso(NOW - timedelta(days=10)),
                             ends_at=_iso(NOW - timedelta(days=10) + timedelta(hours=2)),
                             category="Taller interno"),
        "old": make_event(title="Evento de hace un año", starts_at=_iso(NOW - timedelta(days=365)),
                          ends_at=_iso(NOW - timedelta(days=365) + timedelta(hours=2))),
        "online": make_event(title="=Sesión en línea", latitude=None, longitude=None, venue="",
                             address="", online_url="https://meet.example.org/abierto"),
    }
    for name, action in (("cancelled", "cancel"), ("postponed", "postpone")):
        answer = client.post(f"/api/v1/events/{made[name]['id']}/{action}",
                             json={"reason": "Por lluvia"}, headers=organiser_headers)
        assert answer.status_code == 200, answer.get_json()
    with db.transaction() as session:
        session.execute(text("UPDATE events SET title_en = 'Open Government Action Plan panel' "
                             "WHERE id = :id"), {"id": made["upcoming"]["id"]})
    return {name: event["id"] for name, event in made.items()}


def _calendar(client, query=""):
    answer = client.get("/events.ics" + query)
    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    return answer, Calendar.from_ical(answer.data)


def test_the_calendar_feed_lists_upcoming_and_recent_events_under_stable_uids(
        registration_app, events):
    client = registration_app[0]
    _, feed = _calendar(client)
    assert str(feed["X-WR-CALNAME"]) == "Eventos de Gobierno Abierto"
    assert feed["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert feed["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(feed["X-PUBLISHED-TTL"]) == "PT1H"
    assert "METHOD" not in feed  # published, not an invitation
    entries = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    listed = {name for name, event_id in events.items() if f"event-{event_id}@{HOST}" in entries}
    assert listed == {"upcoming", "cancelled", "postponed", "recent", "online"}  # not "old"
    status = {name: str(entries[f"event-{events[name]}@{HOST}"].get("STATUS")) for name in listed}
    assert status == {"upcoming": "CONFIRMED", "cancelled": "CANCELLED", "postponed": "TENTATIVE",
                      "recent": "CONFIRMED", "online": "CONFIRMED"}
    upcoming = entries[f"event-{events['upcoming']}@{HOST}"]
    assert str(upcoming["SUMMARY"]) == "Presentación del Plan de Acción de Gobierno Abierto"
    assert upcoming["DTSTART"].dt == datetime(2031, 5, 31, 16, 0, tzinfo=timezone.utc)
    assert str(upcoming["URL"]) == f"http://{HOST}/events/{events['upcoming']}"
    assert "Calle Victoria" in str(upcoming["LOCATION"])
    online = entries[f"event-{events['online']}@{HOST}"]
    assert str(online["LOCATION"]) == "https://meet.example.org/abierto"


def test_the_calendar_feed_in_english_and_its_uids_do_not_change_with_the_language(
        registration_app, events):
    client = registration_app[0]
    answer, feed = _calendar(client, "?lang=en")
    assert str(feed["X-WR-CALNAME"]) == "Open Government events"
    entries = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    upcoming = entries[f"event-{events['upcoming']}@{HOST}"]
    assert str(upcoming["SUMMARY"]) == "Open Government Action Plan panel"
    assert str(upcoming["URL"]).endswith("?lang=en")
    # no English title: the Spanish stands in
    assert str(entries[f"event-{events['recent']}@{HOST}"]["SUMMARY"]) == "Taller reciente"
    assert "Set-Cookie" not in answer.headers  # a subscription is no language switch


@pytest.mark.parametrize("path", ["/events.ics", "/events.geojson", "/events/open-gov-week.csv",
                                  "/events/open-gov-week.json"])
def test_feeds_are_cached_five_minutes_and_answer_304_to_a_reader_holding_them(
        registration_app, events, path):
    client = registration_app[0]
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["ETag"].startswith('"')
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(path + "?lang=en").headers["ETag"] != first.headers["ETag"]


def test_a_change_to_an_event_changes_the_feeds_etag(registration_app, events, organiser_headers):
    client = registration_app[0]
    before = client.get("/events.ics").headers["ETag"]
    assert client.patch(f"/api/v1/events/{events['upcoming']}", json={"venue": "Otra sala"},
                        headers=organiser_headers).status_code == 200
    after = client.get("/events.ics", headers={"If-None-Match": before})
    assert after.status_code == 200 and b"Otra sala" in after.data


@pytest.mark.parametrize("path, renderer", [("/events.ics", "ics"), ("/events.geojson", "geojson"),
                                            ("/events/open-gov-week.csv", "open_gov_week")])
def test_a_reader_holding_the_feed_gets_its_304_without_the_feed_being_rendered(
        registration_app, events, path, renderer, monkeypatch):
    """The ETag is known from the rows read (each event's change number) before rendering;
    any change to an event, even one written straight to the database, renders it again."""
    from services.registration import feeds

    client, db, _ = registration_app
    rendered = []
    real = getattr(feeds, renderer)
    monkeypatch.setattr(feeds, renderer, lambda *args: rendered.append(path) or real(*args))
    first = client.get(path)
    assert rendered == [path]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]
    assert rendered == [path]  # read, not rendered
    assert client.get(path).data == first.data and len(rendered) == 2  # no ETag held: the bytes
    with db.transaction() as session:
        session.execute(text("UPDATE events SET title = 'Panel con otro título' WHERE id = :id"),
                        {"id": events["upcoming"]})
    after = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and "Panel con otro título" in after.get_data(as_text=True)
    assert after.headers["ETag"] != first.headers["ETag"] and len(rendered) == 3


def test_the_map_feed_is_an_rfc_7946_feature_collection_of_events_with_a_place(
        registration_app, events):
    client = registration_app[0]
    answer = client.get("/events.geojson")
    assert answer.mimetype == "application/geo+json"
    collection = geojson.loads(answer.get_data(as_text=True))
    assert collection.is_valid, collection.errors()
    document = answer.get_json()
    assert document["type"] == "FeatureCollection"
    by_id = {feature["id"]: feature for feature in document["features"]}
    assert set(by_id) == {events[n] for n in ("upcoming", "cancelled", "postponed", "recent")}
    for feature in document["features"]:
        # RFC 7946: a Feature with a geometry and a properties member; positions are
        # [longitude, latitude] in WGS 84; no "crs" member
        assert feature["type"] == "Feature" and set(feature) == {"type", "id", "geometry", "properties"}
        assert feature["geometry"]["type"] == "Point"
        longitude, latitude = feature["geometry"]["coordinates"]
        assert (longitude, latitude) == (-106.0889, 28.6353)
        assert {"title", "start", "end", "url", "status"} <= set(feature["properties"])
    assert "crs" not in document
    upcoming = by_id[events["upcoming"]]["properties"]
    assert upcoming["start"] == "2031-05-31T10:00:00-06:00"
    assert upcoming["url"] == f"http://{HOST}/events/{events['upcoming']}"
    assert by_id[events["cancelled"]]["properties"]["status"] == "cancelled"
    english = client.get("/events.geojson?lang=en").get_json()
    assert {f["properties"]["title"] for f in english["features"]} >= {
        "Open Government Action Plan panel"}


COLUMNS = ["title", "description", "category", "start", "end", "time_zone",
           "online_or_in_person", "country", "city", "organiser", "partners", "website"]


def test_the_open_gov_week_export_has_the_forms_columns_for_every_event_not_cancelled(
        registration_app, events):
    client = registration_app[0]
    document = client.get("/events/open-gov-week.json").get_json()
    assert document["columns"] == COLUMNS
    rows = {row["website"].rsplit("/", 1)[1]: row for row in document["events"]}
    assert set(rows) == {str(events[n]) for n in ("upcoming", "postponed", "recent", "old", "online")}
    assert rows[str(events["upcoming"])] == {
        "title": "Presentación del Plan de Acción de Gobierno Abierto",
        "description": "Panel con ciudadanía y áreas responsables.",
        "category": "Access to Information — Seminar/Panel",
        "start": "2031-05-31T10:00:00-06:00", "end": "2031-05-31T12:00:00-06:00",
        "time_zone": "America/Chihuahua", "online_or_in_person": "In person",
        "country": "Mexico", "city": "Chihuahua", "organiser": "Municipio de Chihuahua",
        "partners": ["Open Government Partnership"],
        "website": f"http://{HOST}/events/{events['upcoming']}"}
    assert rows[str(events["recent"])]["category"] == ""  # not one of OGP's: left blank
    assert rows[str(events["online"])]["online_or_in_person"] == "Online"

    answer = client.get("/events/open-gov-week.csv?lang=en")
    assert answer.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert table[0] == COLUMNS
    by_title = {row[0]: dict(zip(COLUMNS, row)) for row in table[1:]}
    assert by_title["Open Government Action Plan panel"]["partners"] == "Open Government Partnership"
    assert "'=Sesión en línea" in by_title  # a spreadsheet must not run it as a formula


def test_the_events_page_links_the_feeds_and_the_webcal_subscription(registration_app):
    client = registration_app[0]
    page = client.get("/").get_data(as_text=True)
    assert f'href="webcal://{HOST}/events.ics"' in page
    for path in ("/events.ics", "/events.geojson", "/events/open-gov-week.csv",
                 "/events/open-gov-week.json"):
        assert f'href="http://{HOST}{path}"' in page
        assert client.get(path).status_code == 200
    english = client.get("/?lang=en").get_data(as_text=True)
    assert f'href="webcal://{HOST}/events.ics?lang=en"' in english
