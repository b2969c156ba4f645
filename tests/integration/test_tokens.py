"""API tokens on the real apps (SQLite and PostgreSQL): they expire, they remember their last
use without writing on every request, and an events:write token changes only its own events."""
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from services.notifications.models import ApiToken as NotificationsToken
from services.registration.app import create_app
from services.registration.models import ApiToken, Event
from services.registration.seed import seed
from shared.tokens import create_token
from tests.integration.problems import assert_problem

ABIERTO = Path(sys.executable).with_name("abierto")


def token_row(db, model=ApiToken):
    with db.transaction() as session:
        (row,) = session.scalars(select(model))
        session.expunge(row)
        return row


# --- expiry --------------------------------------------------------------------------------

def test_a_new_token_expires_in_a_year_by_default(registration_app, new_token):
    _, db, _ = registration_app
    new_token(db, {"events:write"})
    lifetime = token_row(db).expires_at - datetime.now(timezone.utc)
    assert timedelta(days=364) < lifetime <= timedelta(days=365)


def test_an_expired_token_is_a_401_that_says_so(registration_app, future_event, new_token,
                                                bearer, nothing_written):
    client, db, _ = registration_app
    headers = bearer(new_token(db, {"events:write"}))
    assert client.post("/api/v1/events", json=future_event(), headers=headers).status_code == 201
    with db.transaction() as session:
        session.execute(update(ApiToken).values(
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    with nothing_written():
        response = client.post("/api/v1/events", json=future_event(), headers=headers)
    assert assert_problem(response, 401)["detail"] == "The token has expired."
    assert response.headers["WWW-Authenticate"] == 'Bearer scope="events:write"'


def test_expiry_follows_the_service_clock(registration_app, future_event, new_token, bearer):
    """Tokens expire on the same clock as the rest of the service."""
    client, db, settings = registration_app
    headers = bearer(new_token(db, {"events:write"}))
    later = create_app(settings, db=db, clock=lambda: datetime.now(timezone.utc)
                       + timedelta(days=366)).test_client()
    response = later.post("/api/v1/events", json=future_event(), headers=headers)
    assert assert_problem(response, 401)["detail"] == "The token has expired."


def test_an_expired_token_of_another_service_is_refused_too(deliveries_app, new_token, bearer):
    client, db, _ = deliveries_app
    with db.transaction() as session:
        token = create_token(session, NotificationsToken, "old", {"deliveries:read"},
                             lifetime=timedelta(minutes=1),
                             now=datetime.now(timezone.utc) - timedelta(minutes=2))
    response = client.get("/api/v1/deliveries", headers=bearer(token))
    assert assert_problem(response, 401)["detail"] == "The token has expired."


# --- last use ------------------------------------------------------------------------------

def test_the_last_use_is_kept_at_most_once_a_minute(registration_app, new_token, bearer):
    client, db, settings = registration_app
    headers = bearer(new_token(db, {"registrations:read", "events:write"}))
    assert token_row(db).last_used_at is None
    path = "/api/v1/events/1/registrations"
    client.get(path, headers=headers)  # a 404, but the token was used
    first = token_row(db).last_used_at
    assert first is not None and abs(datetime.now(timezone.utc) - first) < timedelta(minutes=1)
    client.get(path, headers=headers)
    assert token_row(db).last_used_at == first  # within the minute: no write
    later = create_app(settings, db=db, clock=lambda: first + timedelta(seconds=61))
    later.test_client().get(path, headers=headers)
    assert token_row(db).last_used_at == first + timedelta(seconds=61)


# --- who may change an event -------------------------------------------------------------------

@pytest.fixture
def owners(registration_app, new_token, bearer, future_event):
    """(client, db, the event, headers of its creator, of another events:write token, of an admin)."""
    client, db, _ = registration_app
    creator = bearer(new_token(db, {"events:write"}, name="creator"))
    other = bearer(new_token(db, {"events:write", "registrations:read"}, name="other"))
    admin = bearer(new_token(db, {"events:admin"}, name="admin"))
    event = client.post("/api/v1/events", json=future_event(), headers=creator).get_json()
    return client, db, event, creator, other, admin


def venue(db, event_id):
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT venue FROM events WHERE id = :i"),
                                  {"i": event_id}).scalar_one()


def test_the_event_records_the_token_that_created_it(owners):
    _, db, event, _, _, _ = owners
    with db.transaction() as session:
        owner = session.scalar(select(Event.created_by_token_id).where(Event.id == event["id"]))
        creator = session.scalar(select(ApiToken.id).where(ApiToken.name == "creator"))
    assert owner == creator


def test_another_events_write_token_may_not_change_the_event(owners):
    client, db, event, _, other, _ = owners
    response = client.patch(f"/api/v1/events/{event['id']}", json={"venue": "Otra sala"},
                            headers=other)
    detail = assert_problem(response, 403)["detail"]
    assert "another token" in detail and "events:admin" in detail
    assert venue(db, event["id"]) == event["venue"]


@pytest.mark.parametrize("who", ["creator", "admin"])
def test_the_creator_and_an_admin_may_change_it(owners, who):
    client, db, event, creator, _, admin = owners
    response = client.patch(f"/api/v1/events/{event['id']}", json={"venue": "Sala Cabildo"},
                            headers={"creator": creator, "admin": admin}[who])
    assert response.status_code == 200 and response.get_json()["venue"] == "Sala Cabildo"
    assert venue(db, event["id"]) == "Sala Cabildo"


def test_an_event_nobody_owns_is_changed_only_by_an_admin(registration_app, owners):
    """Seeded events, and those from before owners were kept, name no token."""
    client, db, _, creator, _, admin = owners
    seeded = seed(db)
    path = f"/api/v1/events/{seeded}"
    assert_problem(client.patch(path, json={"venue": "Aquí"}, headers=creator), 403)
    assert client.patch(path, json={"venue": "Aquí"}, headers=admin).status_code == 200


def test_an_admin_only_token_may_not_publish(owners, future_event):
    client, _, _, _, _, admin = owners
    response = client.post("/api/v1/events", json=future_event(), headers=admin)
    assert "events:write" in assert_problem(response, 403)["detail"]


def test_an_unknown_event_is_still_a_404_for_anyone(owners):
    client, _, _, _, other, _ = owners
    assert_problem(client.patch("/api/v1/events/999999", json={"venue": "x"}, headers=other), 404)


# --- the operator command ----------------------------------------------------------------------

@pytest.fixture
def abierto(registration_app, tmp_path):
    db = registration_app[1]
    env = {"PATH": "/usr/bin:/bin", "ABIERTO_ENV": "development", "LOG_LEVEL": "WARNING",
           "DATA_DIR": str(tmp_path), "REGISTRATION_DATABASE_URL": db.url}

    def run(*args):
        return subprocess.run([str(ABIERTO), *args], env=env, capture_output=True, text=True,
                              timeout=60)

    return run


def test_token_create_takes_a_lifetime_and_list_shows_expiry_and_last_use(
        registration_app, abierto, bearer):
    client, db, _ = registration_app
    made = abierto("token", "create", "--service", "registration", "--scopes", "events:admin",
                   "--name", "portal", "--expires-in", "90d")
    assert made.returncode == 0, made.stderr
    expires = token_row(db).expires_at
    assert made.stdout.count("\n") == 1 and made.stdout.startswith("abt_")
    assert made.stderr == f"expires {expires:%Y-%m-%d %H:%M}Z\n"
    assert timedelta(days=89, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=90)
    (line,) = abierto("token", "list", "--service", "registration").stdout.splitlines()
    assert line.endswith(f"active\texpires {expires:%Y-%m-%d %H:%M}Z\tlast used never")
    client.patch("/api/v1/events/1", json={"venue": "x"}, headers=bearer(made.stdout.strip()))
    used = token_row(db).last_used_at
    (line,) = abierto("token", "list", "--service", "registration").stdout.splitlines()
    assert "\tportal\tevents:admin\tactive\t" in line
    assert line.endswith(f"\tlast used {used:%Y-%m-%d %H:%M}Z")


def test_token_list_says_which_have_expired(registration_app, abierto):
    _, db, _ = registration_app
    with db.transaction() as session:
        create_token(session, ApiToken, "old", {"events:write"}, lifetime=timedelta(minutes=1),
                     now=datetime.now(timezone.utc) - timedelta(minutes=2))
    (line,) = abierto("token", "list", "--service", "registration").stdout.splitlines()
    assert "\told\tevents:write\texpired\texpires " in line


@pytest.mark.parametrize("given, lifetime", [("30m", timedelta(minutes=30)),
                                             ("12h", timedelta(hours=12)),
                                             ("1y", timedelta(days=365)), ("2D", timedelta(days=2))])
def test_the_lifetimes_understood(registration_app, abierto, given, lifetime):
    made = abierto("token", "create", "--service", "registration", "--scopes", "events:write",
                   "--expires-in", given)
    assert made.returncode == 0, made.stderr
    left = token_row(registration_app[1]).expires_at - datetime.now(timezone.utc)
    assert lifetime - timedelta(minutes=1) < left <= lifetime


@pytest.mark.parametrize("given", ["0d", "90", "d", "-1d", "1w", "11y", "1.5d", "9999999d"])
def test_a_lifetime_that_is_not_one_is_a_usage_error_and_makes_no_token(registration_app,
                                                                        abierto, given):
    done = abierto("token", "create", "--service", "registration", "--scopes", "events:write",
                   "--expires-in", given)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--expires-in" in done.stderr.strip().splitlines()[-1]
    with registration_app[1].transaction() as session:
        assert session.scalar(select(ApiToken)) is None
