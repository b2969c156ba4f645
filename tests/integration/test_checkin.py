"""Check-in at the door through the API: every answer, two scanners at once, staff links
(made, used, revoked), walk-ins; on SQLite and PostgreSQL."""
import threading

import pytest
from sqlalchemy import text

from services.registration import checkin, checkin_codes
from services.registration import service as use_cases
from services.registration.facts import Links
from tests.integration.problems import assert_problem, tampered


@pytest.fixture
def door(registration_app, new_token, bearer):
    """door(event_id, body, headers=a checkin:write token) -> the POST .../check-ins response."""
    client, db, _ = registration_app
    staff = bearer(new_token(db, {"checkin:write"}, name="door"))

    def post(event_id, body, headers=staff):
        return client.post(f"/api/v1/events/{event_id}/check-ins", json=body, headers=headers)

    return post


@pytest.fixture
def code_of(registration_app):
    """code_of(event_id, registration_id, short=False) -> what the attendee's email shows."""
    keys = registration_app[2].keys

    def make(event_id, registration_id, short=False):
        return (checkin_codes.code if short else checkin_codes.token)(keys, event_id, registration_id)

    return make


def confirmed(register, event_id, n=1, **overrides):
    response = register(event_id, n, **overrides)
    assert response.get_json()["status"] == "confirmed"
    return response.get_json()["id"]


def stored(db, registration_id):
    with db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT status, checked_in_at, walk_in, email, email_key, privacy_consent_at "
            "FROM registrations WHERE id = :i"), {"i": registration_id}).one()


def test_a_code_checks_in_once_then_says_when(registration_app, make_event, register, door,
                                              code_of):
    """The QR code: 201 with the name; again (or its short code): 200 with the first time."""
    event = make_event()
    registration_id = confirmed(register, event["id"], 1, name="Ana López")
    first = door(event["id"], {"code": code_of(event["id"], registration_id)})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["result"] == "checked_in"
    assert body["registration"] == {"id": registration_id, "name": "Ana López", "status": "confirmed"}
    again = door(event["id"], {"code": code_of(event["id"], registration_id, short=True).lower()})
    assert again.status_code == 200
    assert again.get_json()["result"] == "already_checked_in"
    assert again.get_json()["checked_in_at"] == body["checked_in_at"]
    assert stored(registration_app[1], registration_id).checked_in_at is not None


def test_a_short_code_read_aloud_checks_in(make_event, register, door, code_of):
    """The short code as a person reads it: spaces, O for 0, lower case."""
    event = make_event()
    registration_id = confirmed(register, event["id"])
    spoken = code_of(event["id"], registration_id, short=True).replace("-", " ").replace("0", "o")
    assert door(event["id"], {"code": spoken.lower()}).get_json()["result"] == "checked_in"


def test_a_tampered_code_is_invalid_and_changes_nothing(registration_app, make_event, register,
                                                        door, code_of):
    event = make_event()
    registration_id = confirmed(register, event["id"])
    short = code_of(event["id"], registration_id, short=True)
    for forged in (tampered(code_of(event["id"], registration_id)),
                   short[:-1] + ("Z" if short[-1] != "Z" else "Y"),  # never the code itself
                   f"ABIERTO:{event['id']}:{registration_id}:{'A' * 20}"):
        body = assert_problem(door(event["id"], {"code": forged}), 422)
        assert body["result"] == "invalid_code" and "registration" not in body
    assert stored(registration_app[1], registration_id).checked_in_at is None


@pytest.mark.parametrize("garbage", [
    "", " ", "x" * 10_000, "ABIERTO:1:1:" + "A" * 5000, "ABIERTO:99999999999:1:" + "A" * 20,
    "99999999999-ABCDEF", "ABIERTO:1:1:ÁÉÍÓÚÑ😀ÁÉÍÓÚÑ😀ÁÉÍÓÚÑ", "１２３４-ＡＢＣＤＥＦ", "0-000000",
    "<script>alert(1)</script>", "'; DROP TABLE registrations; --", "\u202e1234-ABCDEF"])
def test_garbage_is_an_invalid_code_never_a_500(make_event, door, garbage):
    body = assert_problem(door(make_event()["id"], {"code": garbage}), 422)
    assert body["result"] == "invalid_code"


@pytest.mark.parametrize("body", [{}, {"code": 1234}, {"code": None}, {"code": ["x"]},
                                  {"code": "x", "walk_in": {}}, {"code": "x", "extra": 1},
                                  {"code": "a\x00b"}])
def test_a_malformed_body_is_a_clear_422(make_event, door, body):
    assert_problem(door(make_event()["id"], body), 422)


def test_another_events_code_is_told_apart_from_a_forged_one(make_event, register, door, code_of):
    """A genuine code of another event: not for this event; with that event's id changed in
    it, the signature fails first: invalid (a guess learns nothing)."""
    here, there = make_event(), make_event(title="Otro evento")
    registration_id = confirmed(register, there["id"])
    body = assert_problem(door(here["id"], {"code": code_of(there["id"], registration_id)}), 422)
    assert body["result"] == "not_for_this_event" and "registration" not in body
    short = code_of(there["id"], registration_id, short=True)
    assert assert_problem(door(here["id"], {"code": short}), 422)["result"] == "not_for_this_event"
    relabelled = code_of(there["id"], registration_id).replace(
        f"ABIERTO:{there['id']}:", f"ABIERTO:{here['id']}:")
    assert assert_problem(door(here["id"], {"code": relabelled}), 422)["result"] == "invalid_code"


def test_codes_without_a_seat_are_refused_with_the_reason(registration_app, make_event, register,
                                                          door, code_of):
    """Cancelled and waitlisted: 409 naming whose code it is, and nobody is checked in."""
    client, db, settings = registration_app
    event = make_event(capacity=1)
    cancelled = confirmed(register, event["id"], 1, name="Ana López")
    use_cases.cancel(db, cancelled, Links(settings.public_base_url, settings.keys),
                     registration_app[0].application.extensions["abierto"].clock())
    seated = confirmed(register, event["id"], 2)
    waiting = register(event["id"], 3).get_json()["id"]
    for registration_id, result in ((cancelled, "cancelled"), (waiting, "waitlisted")):
        body = assert_problem(door(event["id"], {"code": code_of(event["id"], registration_id)}), 409)
        assert body["result"] == result and body["registration"]["id"] == registration_id
        assert stored(db, registration_id).checked_in_at is None
    assert door(event["id"], {"code": code_of(event["id"], seated)}).status_code == 201


@pytest.mark.parametrize("what, result", [("cancel", "event_cancelled"),
                                           ("postpone", "event_postponed")])
def test_a_called_off_event_lets_nobody_in(registration_app, make_event, register, door, code_of,
                                           organiser_headers, nothing_written, what, result):
    """Cancelled or postponed, the event has no door: a seated person's code, its short code,
    a garbage code and a walk-in all get 409 with the reason, and nothing is written."""
    client, db, _ = registration_app
    event = make_event()
    seated = confirmed(register, event["id"])
    called_off = client.post(f"/api/v1/events/{event['id']}/{what}", json={"reason": "Lluvia"},
                             headers=organiser_headers)
    assert called_off.status_code == 200, called_off.get_json()
    with nothing_written():
        for body in ({"code": code_of(event["id"], seated)},
                     {"code": code_of(event["id"], seated, short=True)},
                     {"code": "no es un código"}, walk_in(1, email="persona1@example.org"),
                     walk_in(2)):
            refused = assert_problem(door(event["id"], body), 409)
            assert refused["result"] == result and "registration" not in refused
            assert refused["detail"] == {
                "event_cancelled": "Evento cancelado: nadie entra. / Event cancelled: nobody goes in.",
                "event_postponed": "Evento pospuesto: nadie entra. / Event postponed: nobody goes in.",
            }[result]
    assert stored(db, seated).checked_in_at is None


def test_a_rescheduled_event_opens_its_door_again(registration_app, make_event, register, door,
                                                  code_of, organiser_headers):
    client = registration_app[0]
    event = make_event()
    seated = confirmed(register, event["id"])
    client.post(f"/api/v1/events/{event['id']}/postpone", json={"reason": "Sin sede"},
                headers=organiser_headers)
    moved = client.patch(f"/api/v1/events/{event['id']}", headers=organiser_headers, json={
        "starts_at": "2031-07-05T10:00:00-06:00", "ends_at": "2031-07-05T12:00:00-06:00"})
    assert moved.get_json()["status"] == "rescheduled"
    assert door(event["id"], {"code": code_of(event["id"], seated)}).status_code == 201
    assert door(event["id"], walk_in(1)).status_code == 201


def test_two_scanners_at_once_check_in_once(registration_app, make_event, register, code_of,
                                            new_token):
    """Each of 10 codes scanned by two threads at the same moment: one checked_in, one
    already_checked_in with the first one's time (the conditional UPDATE)."""
    client, db, _ = registration_app
    event = make_event(capacity=None)
    ids = [confirmed(register, event["id"], n) for n in range(10)]
    staff = {"Authorization": "Bearer " + new_token(db, {"checkin:write"}, name="door")}
    for registration_id in ids:
        barrier, answers = threading.Barrier(2), []

        def scan(registration_id=registration_id, barrier=barrier, answers=answers):
            scanner = client.application.test_client()  # one per thread, like two devices
            barrier.wait()
            response = scanner.post(f"/api/v1/events/{event['id']}/check-ins",
                                    json={"code": code_of(event["id"], registration_id)},
                                    headers=staff)
            answers.append((response.status_code, response.get_json()))

        threads = [threading.Thread(target=scan) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(status for status, _ in answers) == [200, 201], answers
        assert sorted(body["result"] for _, body in answers) == ["already_checked_in", "checked_in"]
        assert answers[0][1]["checked_in_at"] == answers[1][1]["checked_in_at"]


def test_the_door_needs_staff(registration_app, make_event, register, door, code_of, new_token,
                              bearer):
    """No credential 401; a token without checkin:write 403; nobody checked in by either."""
    client, db, _ = registration_app
    event = make_event()
    registration_id = confirmed(register, event["id"])
    body = {"code": code_of(event["id"], registration_id)}
    assert_problem(door(event["id"], body, headers={}), 401)
    assert_problem(door(event["id"], body, headers=bearer("not-a-token")), 401)
    organiser = bearer(new_token(db, {"events:write", "registrations:read"}))
    assert_problem(door(event["id"], body, headers=organiser), 403)
    assert stored(db, registration_id).checked_in_at is None
    assert_problem(door(999999, body), 404)


# --- staff links ---

def test_a_staff_link_opens_the_door_until_revoked(registration_app, make_event, register,
                                                   organiser_headers, door, code_of):
    """Made by the organiser (its URL once), used as the bearer credential, listed without
    its URL, revoked: refused at once."""
    client, db, settings = registration_app
    event = make_event()
    path = f"/api/v1/events/{event['id']}/staff-links"
    made = client.post(path, json={"label": "Puerta norte"}, headers=organiser_headers)
    assert made.status_code == 201, made.get_json()
    link = made.get_json()
    prefix = f"{settings.public_base_url}/events/{event['id']}/check-in?staff="
    assert link["label"] == "Puerta norte" and link["url"].startswith(prefix)
    credential = {"Authorization": "Bearer " + link["url"].removeprefix(prefix)}
    first, second = (confirmed(register, event["id"], n) for n in (1, 2))
    assert door(event["id"], {"code": code_of(event["id"], first)}, credential).status_code == 201
    listed = client.get(path, headers=organiser_headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == link["id"]
    assert "url" not in listed["items"][0] and listed["items"][0]["revoked_at"] is None
    revoked = client.delete(f"{path}/{link['id']}", headers=organiser_headers)
    assert revoked.status_code == 204
    refused = assert_problem(door(event["id"], {"code": code_of(event["id"], second)}, credential), 403)
    assert "revoked" in refused["detail"]
    assert stored(db, second).checked_in_at is None
    assert client.delete(f"{path}/{link['id']}", headers=organiser_headers).status_code == 204
    assert client.get(path, headers=organiser_headers).get_json()["items"][0]["revoked_at"]


def test_a_staff_link_opens_only_its_own_event(registration_app, make_event, register,
                                               organiser_headers, door, code_of):
    client, _, settings = registration_app
    mine, other = make_event(), make_event(title="Otro")
    url = client.post(f"/api/v1/events/{mine['id']}/staff-links", json={},
                      headers=organiser_headers).get_json()["url"]
    credential = {"Authorization": "Bearer " + url.split("staff=")[1]}
    registration_id = confirmed(register, other["id"])
    body = assert_problem(door(other["id"], {"code": code_of(other["id"], registration_id)},
                               credential), 403)
    assert "another event" in body["detail"]
    forged = {"Authorization": "Bearer " + tampered(url.split("staff=")[1])}
    assert_problem(door(mine["id"], {"code": "1-ABCDEF"}, forged), 401)


def test_only_the_events_publisher_or_an_admin_manages_its_staff_links(
        registration_app, make_event, organiser_headers, new_token, bearer):
    client, db, _ = registration_app
    event = make_event()
    path = f"/api/v1/events/{event['id']}/staff-links"
    link = client.post(path, json={"label": "A"}, headers=organiser_headers).get_json()
    stranger = bearer(new_token(db, {"events:write"}, name="other office"))
    assert_problem(client.post(path, json={}, headers=stranger), 403)
    assert_problem(client.get(path, headers=stranger), 403)
    assert_problem(client.delete(f"{path}/{link['id']}", headers=stranger), 403)
    assert_problem(client.post(path, json={}, headers=bearer(new_token(db, {"checkin:write"}))), 403)
    assert_problem(client.post(path, json={}), 401)
    admin = bearer(new_token(db, {"events:admin"}, name="admin"))
    assert client.post(path, json={"label": "B"}, headers=admin).status_code == 201
    assert client.delete(f"{path}/{link['id']}", headers=admin).status_code == 204
    assert_problem(client.delete(f"{path}/999999", headers=admin), 404)
    assert_problem(client.post(path, json={"label": "x" * 101}, headers=admin), 422, "label")
    assert_problem(client.post(path, json={"url": "x"}, headers=admin), 422)
    other = make_event(title="Otro")
    assert_problem(client.delete(f"/api/v1/events/{other['id']}/staff-links/{link['id']}",
                                 headers=organiser_headers), 404)


def test_an_expired_staff_link_is_refused(registration_app, make_event, monkeypatch):
    client, db, settings = registration_app
    event = make_event()
    link = checkin.create_staff_link(db, event["id"], "", client.application.extensions[
        "abierto"].clock(), None, {"events:admin"})
    credential = checkin.staff_link_url("", settings.keys, link).split("staff=")[1]
    monkeypatch.setattr(checkin, "STAFF_LINK_MAX_AGE", -1)
    body = assert_problem(client.post(f"/api/v1/events/{event['id']}/check-ins",
                                      json={"code": "1-ABCDEF"},
                                      headers={"Authorization": f"Bearer {credential}"}), 403)
    assert "expired" in body["detail"]


# --- walk-ins ---

def walk_in(n=1, **overrides):
    body = {"name": f"Visitante {n}", "sector": "citizen", "privacy_consent": True}
    body.update(overrides)
    return {"walk_in": {k: v for k, v in body.items() if v is not ...}}


def test_a_walk_in_is_checked_in_takes_no_seat_and_is_emailed_nothing(
        registration_app, make_event, register, door, outbox_facts):
    client, db, _ = registration_app
    event = make_event(capacity=2)
    confirmed(register, event["id"], 1)
    facts_before = len(outbox_facts(db))
    first = door(event["id"], walk_in(1, organization="Colectivo", language="en"))
    second = door(event["id"], walk_in(2, email=" Luz@Example.org "))
    for response in (first, second):
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["result"] == "checked_in"
        assert response.get_json()["registration"]["status"] == "confirmed"
    nameless = stored(db, first.get_json()["registration"]["id"])
    assert nameless.walk_in and nameless.checked_in_at and nameless.privacy_consent_at
    assert nameless.email == "" and nameless.email_key.startswith("walk-in:")
    addressed = stored(db, second.get_json()["registration"]["id"])
    assert (addressed.email, addressed.email_key) == ("Luz@Example.org", "luz@example.org")
    assert len(outbox_facts(db)) == facts_before  # no fact, so no email
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["seats_left"] == 1
    assert confirmed(register, event["id"], 2)  # the last seat is still there


def test_a_walk_in_with_a_registered_address_lets_that_registration_in(
        registration_app, make_event, register, door):
    """Confirmed: checked in as its code would be (then "already"); waitlisted: a walk-in,
    without taking a seat."""
    client, db, _ = registration_app
    event = make_event(capacity=1)
    seated = confirmed(register, event["id"], 1)
    waiting = register(event["id"], 2).get_json()["id"]
    at_door = door(event["id"], walk_in(1, email="persona1@example.org"))
    assert at_door.status_code == 201 and at_door.get_json()["registration"]["id"] == seated
    again = door(event["id"], walk_in(1, email="PERSONA1@example.org"))
    assert again.status_code == 200 and again.get_json()["result"] == "already_checked_in"
    promoted = door(event["id"], walk_in(2, name="Persona Dos", email="persona2@example.org"))
    assert promoted.status_code == 201 and promoted.get_json()["registration"]["id"] == waiting
    row = stored(db, waiting)
    assert (row.status, row.walk_in) == ("confirmed", True) and row.checked_in_at
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["seats_left"] == 0


@pytest.mark.parametrize("overrides, field", [
    ({"privacy_consent": False}, "privacy_consent"), ({"privacy_consent": ...}, "privacy_consent"),
    ({"name": ""}, "name"), ({"name": "x" * 201}, "name"), ({"name": "www.spam.example"}, "name"),
    ({"sector": "aliens"}, "sector"), ({"email": "no-es-correo"}, "email"),
    ({"organization": "x" * 201}, "organization"), ({"language": "fr"}, "language")])
def test_a_walk_in_with_bad_fields_is_refused_and_writes_nothing(
        make_event, door, nothing_written, overrides, field):
    event = make_event()
    with nothing_written():
        body = assert_problem(door(event["id"], walk_in(**overrides)), 422, "walk_in")
    assert field in body["errors"]["walk_in"], body
