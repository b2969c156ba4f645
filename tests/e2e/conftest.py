"""Fixtures of the end-to-end tests: one running stack per database backend (see harness)."""
import signal

import pytest
import redis
import requests

from shared.devstack import RedisServer, Stack, answers, wait_until
from tests.e2e.browser import explain, watch_csp
from tests.e2e.harness import SMTPServer


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp(tmp_path_factory):
    server = SMTPServer(tmp_path_factory.mktemp("mail"))
    server.start()
    yield server
    if server.controller:
        server.stop()


@pytest.fixture(scope="session")
def stack(databases, backend, redis_server, smtp, tmp_path_factory):
    """The running stack for one database backend."""
    redis.Redis.from_url(redis_server.url).flushall()
    urls = {name: databases.url(name) for name in Stack.WEB}
    running = Stack(tmp_path_factory.mktemp(f"stack-{backend}"), redis_server.url, smtp.port, urls)
    running.start_all()
    # Registration's "Mis datos" pages read notifications over its ARCO API with a token an
    # operator makes once the databases exist, as the operations guide says.
    running.env["NOTIFICATIONS_API_TOKEN"] = running.cli(
        "token", "create", "--service", "notifications", "--scopes", "arco:read,arco:write",
        "--name", "registration").strip()
    running.kill("registration", signal.SIGTERM, group=True)
    running.start("registration")
    wait_until(lambda: answers(running.url("registration", "/readyz")), 30,
               what="registration ready")
    yield running
    running.stop_all()


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory, smtp):
    """The stack as a fresh `make run` leaves it: its own Redis and SQLite files, migrated
    and seeded with the real data only (no test's event or plan in sight)."""
    folder = tmp_path_factory.mktemp("fresh")
    own_redis = RedisServer(folder)
    own_redis.start()
    urls = {name: f"sqlite:///{folder}/{name}.db" for name in Stack.WEB}
    running = Stack(folder, own_redis.url, smtp.port, urls)
    running.cli("db", "upgrade")
    running.cli("seed")
    running.start_all()
    yield running
    running.stop_all()
    own_redis.stop()


@pytest.fixture(scope="session")
def organiser(stack):
    """Authorization headers for the transparency office (events:write, registrations:read)."""
    token = stack.cli("token", "create", "--service", "registration",
                      "--scopes", "events:write,registrations:read", "--name", "e2e").strip()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def kiosk(stack):
    """Authorization headers for a kiosk registering people (registrations:write)."""
    token = stack.cli("token", "create", "--service", "registration",
                      "--scopes", "registrations:write", "--name", "kiosk").strip()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def operator(stack):
    """Authorization headers for reading deliveries."""
    token = stack.cli("token", "create", "--service", "notifications",
                      "--scopes", "deliveries:read").strip()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def new_event(stack, organiser):
    """Publish an open event through the API; returns its id."""

    def publish(**overrides):
        body = {"title": "Panel de Gobierno Abierto", "starts_at": "2031-05-30T10:00:00-06:00",
                "ends_at": "2031-05-30T12:00:00-06:00", "timezone": "America/Chihuahua",
                "venue": "Salón del Séptimo piso del Edificio Eloy S. Vallina",
                "address": "Calle Victoria No.4, Centro", "city": "Chihuahua", "country": "MX",
                "host_organization": "Coordinación de Transparencia, Gobierno Abierto y Archivos",
                **overrides}
        response = requests.post(stack.url("registration", "/api/v1/events"), json=body,
                                 headers=organiser, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return publish


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) and page per test. `page.csp_violations` lists what
    the pages' Content-Security-Policy refused; any left at the end fails the test."""
    context = browser.new_context(locale="es-MX", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.csp_violations = watch_csp(page)
    yield page
    context.close()
    assert page.csp_violations == [], explain(page.csp_violations)
