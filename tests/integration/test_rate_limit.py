"""Public actions are rate limited per address, in Redis, and still limited while Redis is away."""
import uuid
from dataclasses import replace

from services.registration.app import create_app


def _client(registration_app, redis_url="redis://127.0.0.1:6379/0"):
    _, db, settings = registration_app
    app = create_app(replace(settings, public_rate_limit="3/minute", redis_url=redis_url), db=db)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return app.test_client(), {"REMOTE_ADDR": address}


def test_too_many_registrations_from_one_address_get_429(registration_app, make_event, person):
    """The fourth registration in a minute from one address: 429 problem+json with Retry-After."""
    event_id = make_event()["id"]
    client, environ = _client(registration_app)
    statuses = [client.post(f"/api/v1/events/{event_id}/registrations", json=person(n),
                            environ_base=environ).status_code for n in range(4)]
    refused = client.post(f"/api/v1/events/{event_id}/registrations", json=person(9),
                          environ_base=environ)
    assert statuses == [202, 202, 202, 429]  # the anonymous answer, then the limit
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_limits_hold_and_nothing_crashes_when_redis_is_away(registration_app, make_event, person):
    """With Redis unreachable, registering still works and the limit is kept in memory."""
    event_id = make_event()["id"]
    client, environ = _client(registration_app, redis_url="redis://127.0.0.1:1/0")
    statuses = [client.post(f"/api/v1/events/{event_id}/registrations", json=person(n),
                            environ_base=environ).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]  # the anonymous answer, then the limit
