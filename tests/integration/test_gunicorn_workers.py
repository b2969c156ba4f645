"""gunicorn as compose runs the web services (gunicorn.conf.py, two workers): both workers
take connections, and an address already in use stops it rather than being shared."""
import http.client
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.devstack import free_port, wait_until

GUNICORN = Path(sys.executable).with_name("gunicorn")
ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 64


def which_worker(environ, start_response):
    """The app under test: answers with the pid of the worker that served the request."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


@pytest.fixture
def start():
    """start(port, **env) -> a gunicorn of two gthread workers serving which_worker on 127.0.0.1:port
    (still starting, or already exited: the caller waits for what it expects)."""
    started = []

    def run(port, **env):
        process = subprocess.Popen(
            [str(GUNICORN), "--bind", f"127.0.0.1:{port}",
             "tests.integration.test_gunicorn_workers:which_worker"],
            cwd=ROOT, env={**os.environ, "WEB_CONCURRENCY": "2", "WEB_THREADS": "2", **env},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)


def connected(port):
    """A new keep-alive connection, connected (the worker that accepted it keeps it)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.connect()
    return connection


def worker_behind(connection):
    """The pid of the worker serving `connection`."""
    connection.request("GET", "/")
    return int(connection.getresponse().read())


def served_by(port):
    """The worker pid behind one new connection, or None while nothing listens."""
    try:
        connection = connected(port)
    except ConnectionRefusedError:
        return None
    try:
        return worker_behind(connection)
    finally:
        connection.close()


def both_listening(port):
    seen = set()
    wait_until(lambda: seen.add(served_by(port)) or len(seen - {None}) == 2, 30,
               what="both workers listening")


def test_keep_alive_clients_that_connect_at_once_are_spread_over_both_workers(start):
    """A worker runs Python on one core: with every client held by one of the two, half the
    machine would idle. Each worker listens on a socket of its own and the kernel spreads
    new connections between them; on one shared socket, one worker often took 57-62 of 64."""
    port = free_port()
    start(port)
    both_listening(port)
    clients = [connected(port) for _ in range(CLIENTS)]
    try:
        pids = [worker_behind(client) for client in clients]
    finally:
        for client in clients:
            client.close()
    counts = sorted(pids.count(pid) for pid in set(pids))
    assert len(counts) == 2, counts
    # a fair split is binomial: 48 or more of 64 on one side happens about once in 20,000 runs
    assert counts[1] < 48, f"one worker took {counts[1]} of {CLIENTS} connections"


def test_an_address_already_in_use_stops_gunicorn_instead_of_being_shared(start):
    """With a socket per worker, two gunicorns could both listen on one port and each take
    half the other's requests (two `make run`s, say): the second refuses to start."""
    port = free_port()
    first = start(port)
    wait_until(lambda: served_by(port), 30, what="the first gunicorn")
    second = start(port)
    _, errors = second.communicate(timeout=30)
    assert second.returncode != 0
    assert f"Error: 127.0.0.1:{port} is in use already" in errors, errors
    assert first.poll() is None and served_by(port), "the first one stopped serving"


def test_no_management_socket_is_opened(start, tmp_path):
    """gunicorn's control socket (gunicornc) would sit at one path for every gunicorn of the
    user, each taking it over from the last: none of ours opens it."""
    port = free_port()
    start(port, HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path))
    wait_until(lambda: served_by(port), 30, what="gunicorn")
    assert not [path.name for path in tmp_path.rglob("*")]
