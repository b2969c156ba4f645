"""Attendance for the transparency report: after a scripted event (registrations, a
confirmation by email, a cancellation, a lapsed hold, promotions, check-ins, walk-ins) the
figures match what happened, in JSON, CSV and, once it has ended, on the public page."""
import csv
import html
import io
import re
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sqlalchemy_event

from services.registration import attendance, checkin_codes
from services.registration import service as use_cases
from services.registration.app import create_app
from services.registration.facts import Links
from tests.integration.problems import assert_problem

AFTER_THE_END = datetime.fromisoformat("2031-05-31T12:00:01-06:00")
ZERO = dict.fromkeys(attendance.FIGURES, 0)


def counts(**given):
    return {**ZERO, **given}


@pytest.fixture
def scripted(registration_app, make_event, register, organiser_headers, new_token, bearer):
    """An event as the figures below tell it; returns (event id, names of everyone)."""
    client, db, settings = registration_app
    links, now = Links(settings.public_base_url, settings.keys), datetime.now().astimezone()
    event_id = make_event(capacity=3, confirm_by_email=True)["id"]
    sectors = {1: "citizen", 2: "citizen", 3: "academia", 4: "academia", 5: "media",
               6: "government", 7: "citizen", 8: "citizen"}

    def sign_up(n):
        response = register(event_id, n, sector=sectors[n])
        assert response.status_code == 201
        return response.get_json()["id"]

    ids = {n: sign_up(n) for n in (1, 2, 3, 4, 5)}  # 1-3 hold seats (pending), 4-5 wait
    use_cases.confirm(db, ids[1], links, now)
    use_cases.confirm(db, ids[2], links, now)
    use_cases.cancel(db, ids[2], links, now)  # 4 moves up
    assert use_cases.expire_holds(db, links, now + timedelta(hours=1)) == 1  # 3 lapses; 5 moves up
    patch = lambda capacity: client.patch(  # noqa: E731
        f"/api/v1/events/{event_id}", json={"capacity": capacity}, headers=organiser_headers)
    ids[6] = sign_up(6)  # waits, then moves up when there is room
    assert patch(4).status_code == 200
    assert patch(5).status_code == 200
    ids[7] = sign_up(7)  # holds the fifth seat
    ids[8] = sign_up(8)  # waits
    staff = bearer(new_token(db, {"checkin:write"}, name="door"))
    door = lambda body: client.post(  # noqa: E731
        f"/api/v1/events/{event_id}/check-ins", json=body, headers=staff)
    for n in (1, 5):
        assert door({"code": checkin_codes.token(settings.keys, event_id, ids[n])}).status_code == 201
    assert door({"code": checkin_codes.token(settings.keys, event_id, ids[2])}).status_code == 409
    assert door({"walk_in": {"name": "Sin Correo", "sector": "citizen",
                             "privacy_consent": True}}).status_code == 201
    assert door({"walk_in": {"name": "Reportera", "sector": "media", "email": "r@example.org",
                             "privacy_consent": True}}).status_code == 201
    return event_id, [f"Persona {n}" for n in sectors] + ["Sin Correo", "Reportera"]


BY_SECTOR = {
    "academia": counts(registered=2, confirmed=1, expired=1),
    "citizen": counts(registered=4, confirmed=1, pending=1, waiting=1, cancelled=1,
                      checked_in=2, walk_ins=1),
    "government": counts(registered=1, confirmed=1),
    "media": counts(registered=1, confirmed=1, checked_in=2, walk_ins=1),
}
TOTAL = counts(registered=8, confirmed=4, pending=1, waiting=1, cancelled=1, expired=1,
               checked_in=4, walk_ins=2)
NO_SHOWS = {"academia": 1, "citizen": 0, "government": 1, "media": 0}


def after_the_end(registration_app, **overrides):
    """A client of the same service and database whose clock says the event has ended."""
    _, db, settings = registration_app
    return create_app(replace(settings, **overrides), db=db,
                      clock=lambda: AFTER_THE_END).test_client()


def public_rows(page):
    """The public table's rows as {first cell: [the others' text]}."""
    table = page[page.index('<h2 id="attendance">'):page.index("</table>")]
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table, re.S)
    return {head: [html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", cells)]
            for head, cells in rows}


@pytest.fixture
def reader_then(registration_app, new_token, bearer):
    """A registrations:read token still valid after the end (tokens last a year)."""
    return bearer(new_token(registration_app[1], {"registrations:read"}, name="report",
                            now=AFTER_THE_END - timedelta(days=1)))


def test_the_figures_match_what_happened(registration_app, scripted, organiser_headers,
                                        reader_then):
    """Before the end no_shows are unknown (null); after it, confirmed people who never came."""
    client = registration_app[0]
    event_id, _ = scripted
    path = f"/api/v1/events/{event_id}/attendance"
    during = client.get(path, headers=organiser_headers).get_json()
    assert during == {"event_id": event_id, "ended": False, **TOTAL, "no_shows": None,
                      "by_sector": {sector: {**c, "no_shows": None} for sector, c in BY_SECTOR.items()}}
    after = after_the_end(registration_app).get(path, headers=reader_then).get_json()
    assert after == {"event_id": event_id, "ended": True, **TOTAL, "no_shows": 2,
                     "by_sector": {sector: {**c, "no_shows": NO_SHOWS[sector]}
                                   for sector, c in BY_SECTOR.items()}}
    seats = client.get(f"/api/v1/events/{event_id}").get_json()["seats_left"]
    assert seats == 0  # 4 confirmed and 1 pending of 5: walk-ins took none


def test_the_figures_as_csv(registration_app, scripted, reader_then):
    event_id, _ = scripted
    response = after_the_end(registration_app).get(
        f"/api/v1/events/{event_id}/attendance", headers={**reader_then, "Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"event-{event_id}-attendance.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["sector", *attendance.FIGURES]
    expected = {sector: {**c, "no_shows": NO_SHOWS[sector]} for sector, c in BY_SECTOR.items()}
    expected["total"] = {**TOTAL, "no_shows": 2}
    assert {row[0]: dict(zip(rows[0][1:], map(int, row[1:]))) for row in rows[1:]} == expected
    assert rows[-1][0] == "total"


def test_the_csv_before_the_end_leaves_no_shows_empty(registration_app, scripted, organiser_headers):
    event_id, _ = scripted
    rows = list(csv.reader(io.StringIO(registration_app[0].get(
        f"/api/v1/events/{event_id}/attendance",
        headers={**organiser_headers, "Accept": "text/csv"}).get_data(as_text=True))))
    assert {row[rows[0].index("no_shows")] for row in rows[1:]} == {""}


def test_the_public_page_shows_attendance_only_after_the_end_and_no_names(
        registration_app, scripted):
    event_id, names = scripted
    during = registration_app[0].get(f"/events/{event_id}").get_data(as_text=True)
    assert "Asistencia" not in during
    page = after_the_end(registration_app, public_count_min=1).get(
        f"/events/{event_id}").get_data(as_text=True)
    assert '<h2 id="attendance">Asistencia</h2>' in page
    assert not [name for name in names if name in page]
    # registered, cancelled, attended, walk-ins, no-shows
    assert public_rows(page)["Total"] == ["8", "1", "4", "2", "2"]
    assert "Ciudadanía" in page and "Medios" in page
    english = after_the_end(registration_app).get(f"/events/{event_id}?lang=en").get_data(as_text=True)
    assert "No-shows" in english and "Civil society" not in english


def test_the_public_table_hides_small_counts_organisers_keep_them(registration_app, scripted,
                                                                  reader_then):
    """With PUBLIC_COUNT_MIN 5 (the default), no count from 1 to 4 shows, nor a total that
    would give one away; the 8 registered in four sectors of 1 to 4 each stays. The API,
    with a token, keeps the exact figures."""
    event_id, _ = scripted
    client = after_the_end(registration_app)
    rows = public_rows(client.get(f"/events/{event_id}").get_data(as_text=True))
    assert rows == {"Academia": ["< 5", "0", "0", "0", "< 5"],
                    "Ciudadanía": ["< 5", "< 5", "< 5", "< 5", "0"],
                    "Gobierno": ["< 5", "0", "0", "0", "< 5"],
                    "Medios": ["< 5", "0", "< 5", "< 5", "0"],
                    "Total": ["8", "< 5", "< 5", "< 5", "< 5"]}
    english = client.get(f"/events/{event_id}?lang=en").get_data(as_text=True)
    assert "fewer than 5 people" in english
    notice = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "shows “&lt; 5” instead of a count from 1 to 4" in notice
    exact = client.get(f"/api/v1/events/{event_id}/attendance", headers=reader_then).get_json()
    assert exact["by_sector"]["government"]["registered"] == 1 and exact["cancelled"] == 1


def test_an_event_without_registrations_has_zero_everywhere(registration_app, make_event,
                                                            organiser_headers):
    event = make_event()
    figures = registration_app[0].get(f"/api/v1/events/{event['id']}/attendance",
                                      headers=organiser_headers).get_json()
    assert figures == {"event_id": event["id"], "ended": False, **ZERO, "no_shows": None,
                       "by_sector": {}}


def test_attendance_needs_registrations_read(registration_app, make_event, new_token, bearer):
    client, db, _ = registration_app
    event = make_event()
    path = f"/api/v1/events/{event['id']}/attendance"
    assert_problem(client.get(path), 401)
    assert_problem(client.get(path, headers=bearer(new_token(db, {"checkin:write"}))), 403)
    assert_problem(client.get("/api/v1/events/999999/attendance",
                              headers=bearer(new_token(db, {"registrations:read"}))), 404)


def test_the_figures_are_one_query_however_many_registrations(registration_app, make_event,
                                                              register):
    """No query per registration or per sector: the event's end, then one aggregate."""
    _, db, _ = registration_app
    event = make_event(capacity=None)
    for n in range(30):
        register(event["id"], n, sector=("citizen", "media", "academia")[n % 3])
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sqlalchemy_event.listen(db.engine, "before_cursor_execute", listener)
    try:
        figures = attendance.figures(db, event["id"], datetime.now().astimezone())
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", listener)
    assert figures["registered"] == 30 and len(figures["by_sector"]) == 3
    assert len(statements) == 2, statements
