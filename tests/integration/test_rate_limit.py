"""Public actions are rate limited per address, in Redis, and still limited while Redis is away."""
import uuid
from dataclasses import replace

import redis
from sqlalchemy import select

from services.commitments.app import create_app as commitments_app_of
from services.registration.app import create_app
from services.registration.models import Registration
from shared.devstack import RedisServer
from shared.ratelimit import PublicRateLimit
from tests.integration.commitments_helpers import commitments_app  # noqa: F401 (a fixture)


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


def test_with_two_rates_the_stricter_one_refuses(registration_app, make_event, person):
    """PUBLIC_RATE_LIMIT's rates are counted together (one Redis round trip): whichever is
    spent refuses, here the second, longer one."""
    _, db, settings = registration_app
    app = create_app(replace(settings, public_rate_limit="10/minute;3/hour"), db=db)
    client, environ = app.test_client(), {"REMOTE_ADDR": _random_ipv4()}
    event_id = make_event()["id"]
    statuses = [client.post(f"/api/v1/events/{event_id}/registrations", json=person(n),
                            environ_base=environ).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_limits_hold_and_nothing_crashes_when_redis_is_away(registration_app, make_event, person):
    """With Redis unreachable, registering still works and the limit is kept in memory."""
    event_id = make_event()["id"]
    client, environ = _client(registration_app, redis_url="redis://127.0.0.1:1/0")
    statuses = [client.post(f"/api/v1/events/{event_id}/registrations", json=person(n),
                            environ_base=environ).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]  # the anonymous answer, then the limit


def test_a_redis_that_forgot_the_limits_script_still_counts_both_limits(
        registration_app, make_event, person, tmp_path):
    """A restarted Redis has no scripts loaded: the one pipeline of both windows fails with
    NoScriptError and the windows are counted again by the calls that load it, nothing lost
    and nothing counted twice (EVENT_CLIENT_LIMIT 2 an hour: the third attempt is refused)."""
    server = RedisServer(tmp_path)  # its own: flushing scripts must not touch other tests
    server.start()
    try:
        _, db, settings = registration_app
        client = create_app(replace(settings, redis_url=server.url,
                                    event_client_limit="2/hour"), db=db).test_client()
        path = f"/api/v1/events/{make_event(capacity=None)['id']}/registrations"
        assert client.post(path, json=person(1)).status_code == 202
        redis.Redis.from_url(server.url).script_flush()
        assert client.post(path, json=person(2)).status_code == 202
        refused = client.post(path, json=person(3))
        assert refused.status_code == 429 and 60 < int(refused.headers["Retry-After"]) <= 3600
    finally:
        server.stop()


def test_the_first_request_after_a_redis_restart_is_counted_in_redis(
        registration_app, make_event, person, tmp_path):
    """The limits keep a connection between requests: one the restart closed is dropped and
    made again before use, so the next request is counted in Redis, not in memory."""
    server = RedisServer(tmp_path)  # its own: restarting it must not touch other tests
    server.start()
    try:
        _, db, settings = registration_app
        client = create_app(replace(settings, redis_url=server.url), db=db).test_client()
        path = f"/api/v1/events/{make_event(capacity=None)['id']}/registrations"
        assert client.post(path, json=person(1)).status_code == 202
        server.stop()
        server.start()
        redis.Redis.from_url(server.url).flushall()  # only the next request's entries remain
        assert client.post(path, json=person(2)).status_code == 202
        assert len(redis.Redis.from_url(server.url).keys("LIMITS:*")) == 2  # address and event
    finally:
        server.stop()


# --- who "one client" is: behind proxies (TRUSTED_PROXY_HOPS) and over IPv6 ---------------------

def _random_ipv4():
    return ".".join(str(uuid.uuid4().int % 250 + 1) for _ in range(4))


def _random_64():
    """A /64 no other run of these tests uses (the limit's window outlives a test)."""
    return "2001:db8:{:x}:{:x}".format(uuid.uuid4().int % 0xFFFF, uuid.uuid4().int % 0xFFFF)


def _limited_client(registration_app, hops):
    """The registration app with 3 public requests a minute and `hops` trusted proxies."""
    _, db, settings = registration_app
    app = create_app(replace(settings, public_rate_limit="3/minute", trusted_proxy_hops=hops), db=db)
    return app.test_client()


def _tries(client, peer, *forwarded_for):
    """Statuses of public requests (a cancel link that is not valid: 400 until limited, then 429),
    one per X-Forwarded-For value given, all from the TCP peer `peer`."""
    return [client.get("/registrations/cancel/not-a-token", environ_base={"REMOTE_ADDR": peer},
                       headers={"X-Forwarded-For": value} if value else {}).status_code
            for value in forwarded_for]


def test_with_no_trusted_proxy_a_forged_x_forwarded_for_gains_nothing(registration_app):
    """TRUSTED_PROXY_HOPS=0 (the default): a new made-up X-Forwarded-For each time, still limited."""
    client = _limited_client(registration_app, hops=0)
    forged = [_random_ipv4() for _ in range(4)]
    assert _tries(client, _random_ipv4(), *forged) == [400, 400, 400, 429]


def test_behind_one_proxy_each_forwarded_client_has_its_own_limit(registration_app):
    """TRUSTED_PROXY_HOPS=1: clients behind one proxy are told apart by the address it appends."""
    client, proxy = _limited_client(registration_app, hops=1), _random_ipv4()
    first, second = _random_ipv4(), _random_ipv4()
    assert _tries(client, proxy, *[first] * 4) == [400, 400, 400, 429]
    assert _tries(client, proxy, second) == [400]


def test_behind_one_proxy_a_client_cannot_escape_by_prepending_addresses(registration_app):
    """What the client itself sends (left of what the proxy appends) is not believed."""
    client, proxy, address = _limited_client(registration_app, hops=1), _random_ipv4(), _random_ipv4()
    assert _tries(client, proxy, *[address] * 3) == [400, 400, 400]
    prepended = [f"{_random_ipv4()}, {address}", f"{_random_ipv4()}, {_random_ipv4()}, {address}"]
    assert _tries(client, proxy, *prepended) == [429, 429]


def test_ipv6_addresses_in_one_64_share_a_limit_and_another_64_does_not(registration_app):
    client, network, other = _limited_client(registration_app, hops=0), _random_64(), _random_64()
    hosts = ("1:2:3:4", "0:0:0:5", "ab::1", "ffff:ffff:ffff:ffff")
    statuses = [_tries(client, f"{network}:{host}", None)[0] for host in hosts]
    assert statuses == [400, 400, 400, 429]
    assert _tries(client, f"{other}::1", None) == [400]


def test_an_ipv4_mapped_ipv6_peer_shares_the_ipv4_address_limit(registration_app):
    """A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: still the one client."""
    client, address = _limited_client(registration_app, hops=0), _random_ipv4()
    assert _tries(client, address, None, None, None) == [400, 400, 400]
    assert _tries(client, f"::ffff:{address}", None) == [429]


# --- the public change feeds -------------------------------------------------------------------

def test_the_events_change_feed_is_rate_limited_like_the_other_public_routes(registration_app):
    """A mirror's `changed_since` asks count against PUBLIC_RATE_LIMIT (each reads the feed's
    horizon and its rows): the fourth in a minute is a 429 problem with Retry-After. The
    plain list, which caches and pages keep, is not counted."""
    client, environ = _client(registration_app)
    answers = [client.get("/api/v1/events?changed_since=0", environ_base=environ)
               for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[3].mimetype == "application/problem+json"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert client.get("/api/v1/events", environ_base=environ).status_code == 200
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/events"]["get"]
    assert "429" in operation["responses"]


def test_the_plans_and_commitments_change_feeds_are_rate_limited(commitments_app):  # noqa: F811
    _, db, settings = commitments_app
    client = commitments_app_of(replace(settings, public_rate_limit="2/minute"), db=db).test_client()
    for path in ("/api/v1/action-plans", "/api/v1/commitments"):
        environ = {"REMOTE_ADDR": _random_ipv4()}
        answers = [client.get(path + "?changed_since=0", environ_base=environ).status_code
                   for _ in range(3)]
        assert answers == [200, 200, 429]
        assert client.get(path, environ_base=environ).status_code == 200
        assert "429" in client.get("/api/v1/openapi.json").get_json()["paths"][path]["get"][
            "responses"]


def test_the_registration_form_counts_per_address_and_says_so_in_words(registration_app, make_event):
    """The form's posts are counted against PUBLIC_RATE_LIMIT like the API's; over it, the 429
    is a page in words with Retry-After (it was problem+json before both limits were counted
    together)."""
    event_id = make_event()["id"]
    client, environ = _client(registration_app)
    page = client.get(f"/events/{event_id}", environ_base=environ).get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    answers = [client.post(f"/events/{event_id}", environ_base=environ, data={
        "csrf_token": token, "name": "Ana", "email": f"ana{n}@example.org", "sector": "citizen",
        "privacy_consent": "yes"}) for n in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[3].mimetype == "text/html"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert "Demasiados registros" in answers[3].get_data(as_text=True)


def test_with_redis_away_a_refused_request_counts_in_no_further_limit():
    """In memory, as through Redis: a request its own limit refuses is not counted against
    the limits asked with it (a registration's event)."""
    away = "redis://127.0.0.1:1/0"  # nothing listens there
    per_address = PublicRateLimit(away, "1/minute", "public")
    per_event = PublicRateLimit(away, "5/hour", "registration-event")
    assert per_address.retry_after("10.0.0.1", (per_event, "7:10.0.0.1")) is None
    assert 1 <= per_address.retry_after("10.0.0.1", (per_event, "7:10.0.0.1")) <= 60
    [rate] = per_event.rates
    assert per_event.local.get_window_stats(rate, "registration-event", "7:10.0.0.1").remaining == 4


# --- the limit answers first -----------------------------------------------------------------

def test_an_attempt_over_the_limit_gets_the_429_whatever_its_body_or_event(
        registration_app, make_event, person):
    """The limit answers before anything else is judged: once over it, an invalid body and
    an unknown event get the 429, not their 422 or 404, and a valid registration gets it too
    and is not written."""
    _, db, settings = registration_app
    app = create_app(replace(settings, public_rate_limit="1/minute"), db=db)
    client, environ = app.test_client(), {"REMOTE_ADDR": _random_ipv4()}
    event_id = make_event(capacity=None)["id"]
    path = f"/api/v1/events/{event_id}/registrations"
    assert client.post(path, json=person(1), environ_base=environ).status_code == 202
    answers = [client.post(path, json=person(2, email="no-es-un-correo"), environ_base=environ),
               client.post("/api/v1/events/2000000000/registrations", json=person(3),
                           environ_base=environ),
               client.post(path, json=person(4), environ_base=environ)]
    assert [answer.status_code for answer in answers] == [429, 429, 429]
    assert all(answer.mimetype == "application/problem+json" for answer in answers)
    with db.transaction() as session:
        emails = session.scalars(select(Registration.email).where(
            Registration.event_id == event_id)).all()
    assert emails == ["persona1@example.org"]
