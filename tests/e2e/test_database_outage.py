"""A PostgreSQL restart is a non-event: the API answers 503 with Retry-After meanwhile, no
process exits, and once it is back every registration answered 2xx gets exactly one email.

The test runs a PostgreSQL of its own (initdb and pg_ctl into a temporary folder, on a free
port), since the machine's cannot be stopped by a test, and a stack, Redis and SMTP server
of their own on it, so that the other end-to-end tests' stack never sees the outage.
"""
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, insert, text

from services.notifications.models import Subscription
from shared.db import upgrade, utcnow
from shared.devstack import RedisServer, Stack, free_port, wait_until
from tests.e2e.harness import SMTPServer, register, unique_addresses

SLOWEST = 5  # seconds: no answer, 2xx or 503, may take longer, outage or not
SETTLE = 8  # > DELIVERY_STALE_AFTER: long enough for a duplicate to show up if one were coming
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))


class OwnPostgres:
    """A PostgreSQL server in a folder of its own, that the test may stop and start."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="abierto-pg-"))
        self.data, self.port, self.bin = self.folder / "data", free_port(), Path(BINARIES[-1])
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: as its own user, then
            shutil.chown(self.folder, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        else:
            self.prefix = []
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *args):
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=60)

    def init(self):
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self):
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.folder / "server.log"), "-o", options, "-w", "start")

    def stop(self):
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def database(self, name):
        admin = create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{self.url}/{name}"

    def remove(self):
        with _quietly():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class _quietly:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is subprocess.CalledProcessError


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory):
    """(stack, postgres, smtp): the whole stack on a PostgreSQL, Redis and SMTP of its own."""
    if not BINARIES:
        pytest.skip("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    postgres, folder = OwnPostgres(), tmp_path_factory.mktemp("outage")
    redis_server, smtp = RedisServer(tmp_path_factory.mktemp("outage-redis")), SMTPServer(folder)
    postgres.init()
    postgres.start()
    redis_server.start()
    smtp.start()
    urls = {name: postgres.database(name) for name in Stack.WEB}
    for name, url in urls.items():
        upgrade(name, url)
    stack = Stack(folder, redis_server.url, smtp.port, urls)
    try:
        stack.start_all()
        yield stack, postgres, smtp
    finally:
        stack.stop_all()
        smtp.stop()
        redis_server.stop()
        postgres.remove()


def _pids(stack):
    return {name: process.pid for name, process in stack.processes.items()
            if process.poll() is None}


def _received(smtp, addresses):
    """How many messages each of `addresses` got."""
    counts = Counter(to for recipients, _ in smtp.inbox.parsed() for to in recipients)
    return {address: counts[address] for address in addresses}


def _wait_for_one_each(smtp, addresses, timeout):
    wait_until(lambda: min(_received(smtp, addresses).values()) >= 1, timeout, interval=0.5,
               what=f"mail to {len(addresses)} address(es)")
    time.sleep(SETTLE)
    received = _received(smtp, addresses)
    assert set(received.values()) == {1}, {a: n for a, n in received.items() if n != 1}


class Stream:
    """Registrations, one after another from a thread, each answer noted with its time."""

    def __init__(self, stack, event_id):
        self.stack, self.event_id, self.answers = stack, event_id, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for address in unique_addresses(10_000, "outage"):
            if self.done.is_set():
                return
            started = time.monotonic()
            try:
                response = register(self.stack, self.event_id, address)
                self.answers.append((address, response, time.monotonic() - started))
            except requests.RequestException as error:  # a hang past the client's timeout
                self.answers.append((address, error, time.monotonic() - started))
            time.sleep(0.02)

    def count(self):
        return len(self.answers)


def _organiser(stack):
    token = stack.cli("token", "create", "--service", "registration", "--scopes",
                      "events:write").strip()
    return {"Authorization": f"Bearer {token}"}


def test_postgres_restart_during_registrations_answers_503_then_one_email_each(outage_stack):
    """PostgreSQL stopped for a few seconds while people register: each answer is a 2xx or a
    503 problem+json with Retry-After, none takes over SLOWEST; nothing restarts; every 2xx
    gets exactly one email."""
    stack, postgres, smtp = outage_stack
    event = requests.post(stack.url("registration", "/api/v1/events"), headers=_organiser(stack),
                          timeout=10, json={
                              "title": "Panel durante un reinicio", "capacity": 100_000,
                              "starts_at": "2031-05-30T10:00:00-06:00",
                              "ends_at": "2031-05-30T12:00:00-06:00",
                              "timezone": "America/Chihuahua", "host_organization": "Pruebas"})
    assert event.status_code == 201, event.text
    pids = _pids(stack)
    stream = Stream(stack, event.json()["id"])
    stream.thread.start()
    wait_until(lambda: stream.count() >= 20, 30, what="registrations before the outage")
    postgres.stop()
    before = stream.count()
    time.sleep(4)
    during = stream.answers[before:]
    postgres.start()
    after = stream.count()
    wait_until(lambda: stream.count() >= after + 20, 30, what="registrations after the outage")
    stream.done.set()
    stream.thread.join(15)

    hangs = [(seconds, answer) for _, answer, seconds in stream.answers
             if isinstance(answer, Exception) or seconds > SLOWEST]
    assert not hangs, hangs
    statuses = Counter(answer.status_code for _, answer, _ in stream.answers)
    assert set(statuses) <= {202, 503}, statuses
    refused = [answer for _, answer, _ in during if answer.status_code == 503]
    assert refused, f"no 503 while PostgreSQL was away: the outage was not tested ({statuses})"
    for answer in refused:
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["status"] == 503 and int(answer.headers["Retry-After"]) > 0
    assert all(answer.status_code == 202 for _, answer, _ in stream.answers[-10:]), \
        "the first requests after the restart must succeed"

    accepted = [address for address, answer, _ in stream.answers if answer.status_code == 202]
    _wait_for_one_each(smtp, accepted, timeout=90)
    assert _pids(stack) == pids, "a process exited or was restarted"
    relay = stack.log("relay-registration")
    assert relay.count("the database is unavailable") == 1 and relay.count("answers again") == 1


def test_postgres_away_for_a_minute_during_a_fan_out_loses_and_repeats_nothing(outage_stack):
    """1,000 confirmed followers, one milestone change, PostgreSQL away for a minute mid
    fan-out: every follower gets exactly one alert, and no process exits."""
    stack, postgres, smtp = outage_stack
    token = stack.cli("token", "create", "--service", "commitments", "--scopes",
                      "commitments:write").strip()
    writer = {"Authorization": f"Bearer {token}"}
    milestone_id, commitment_id = _new_milestone(stack, writer)
    followers = unique_addresses(1000, "follower")
    engine = create_engine(stack.env["NOTIFICATIONS_DATABASE_URL"])
    with engine.begin() as connection:  # followers who confirmed long ago
        connection.execute(insert(Subscription), [
            {"email": a, "email_key": a, "topic": f"commitment:{commitment_id}",
             "language": "es", "status": "confirmed", "created_at": utcnow(),
             "confirmed_at": utcnow()} for a in followers])
    engine.dispose()
    pids = _pids(stack)
    _call(stack, "patch", f"/api/v1/milestones/{milestone_id}", writer,
          {"status": "met", "progress_pct": 100, "justification": "Concluido"})
    wait_until(lambda: sum(n > 0 for n in _received(smtp, followers).values()) >= 30, 60,
               interval=0.02, what="the fan-out to be under way")
    postgres.stop()
    sent_at_stop = sum(n > 0 for n in _received(smtp, followers).values())
    away_until = time.monotonic() + 60
    while time.monotonic() < away_until:  # the API says 503 all along, and nothing exits
        started = time.monotonic()
        answer = requests.get(stack.url("commitments", f"/api/v1/milestones/{milestone_id}"),
                              timeout=10)
        assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
        assert time.monotonic() - started < SLOWEST
        assert _pids(stack) == pids, "a process exited during the outage"
        time.sleep(5)
    postgres.start()
    assert sent_at_stop < len(followers), "the fan-out was over before the outage"
    _wait_for_one_each(smtp, followers, timeout=120)
    assert _pids(stack) == pids, "a process exited or was restarted"


def _call(stack, method, path, headers, body):
    response = requests.request(method, stack.url("commitments", path), json=body,
                                headers=headers, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _new_milestone(stack, writer):
    plan = _call(stack, "post", "/api/v1/action-plans", writer, {
        "member": "Municipio de Prueba", "ordinal": 1,
        "title": {"es": "Plan de Acción", "en": "Action Plan"}})
    commitment = _call(stack, "post", "/api/v1/commitments", writer, {
        "action_plan_id": plan["id"], "number": 1,
        "title": {"es": "Compromiso muy seguido", "en": "A much-followed commitment"}})
    milestone = _call(stack, "post", f"/api/v1/commitments/{commitment['id']}/milestones",
                      writer, {"title": {"es": "Primer hito", "en": "First milestone"},
                               "planned_start": "2031-01-01", "planned_end": "2031-06-30",
                               "status": "in_progress", "progress_pct": 40})
    return milestone["id"], commitment["id"]
