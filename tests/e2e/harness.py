"""The end-to-end harness: the real processes, a Redis server and an SMTP server the tests start.

Each backend (SQLite, PostgreSQL) gets one stack for the session: gunicorn for the three
services, both relays, the consumer, a Celery worker and the sweeper, as subprocesses
on free ports, with short retry delays so faults resolve in seconds. Tests use their
own events and addresses, so they share the stack; a test that breaks a part puts it back.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from email import message_from_bytes, policy
from pathlib import Path

import redis
import requests

from services.mailsink.server import MaildirHandler, serve

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout=30, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """A redis-server of our own, with an append-only file, so it can be stopped and resumed."""

    def __init__(self, folder, fsync="always"):
        """`fsync` "always" loses nothing on a kill; compose runs "everysec"."""
        self.folder, self.port, self.process, self.fsync = folder, free_port(), None, fsync
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", self.fsync,
             "--save", ""], stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_until(lambda: _pings(client), 10, what="redis")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


def _pings(client):
    try:
        return client.ping()
    except redis.RedisError:
        return False


class Inbox(MaildirHandler):
    """The SMTP server's handler: keeps every message; can refuse addresses like a real server."""

    def __init__(self, folder):
        super().__init__(folder)
        self.refused = {}  # address prefix -> SMTP reply
        self._parsed = []  # (recipients, message), parsed here rather than in the server

    def parsed(self):
        for _, raw in self.messages[len(self._parsed):]:
            message = parse(raw)
            self._parsed.append(({a.addr_spec for a in message["To"].addresses}, message))
        return self._parsed

    def refuse(self, envelope):
        for prefix, reply in self.refused.items():
            if any(rcpt.startswith(prefix) for rcpt in envelope.rcpt_tos):
                return reply
        return None

    def count(self, addresses):
        """How many of `addresses` have received at least one message."""
        seen = set().union(*(to for to, _ in self.parsed()))
        return len(seen.intersection(addresses))

    def to(self, address):
        return [m for to, m in self.parsed() if address in to]

    def wait_for(self, addresses, timeout=60):
        """Wait until each address has at least one message; return {address: [messages]}."""
        addresses = list(addresses)
        wait_until(lambda: all(self.to(a) for a in addresses), timeout,
                   what=f"mail to {len(addresses)} address(es)")
        return {a: self.to(a) for a in addresses}


class SMTPServer:
    def __init__(self, folder):
        self.port, self.inbox, self.controller = free_port(), Inbox(folder), None

    def start(self):
        self.controller = serve(None, "127.0.0.1", self.port, handler=self.inbox)

    def stop(self):
        self.controller.stop()
        self.controller = None


class Stack:
    """The Abierto processes, started like the Procfile starts them, on free ports."""

    WEB = ("registration", "commitments", "notifications")

    def __init__(self, folder, redis_url, smtp_port, database_urls, web_workers=2):
        """`web_workers` None starts gunicorn at its default, as the Procfile does."""
        self.folder, self.processes = folder, {}
        self.ports = {name: free_port() for name in self.WEB}
        self.env = {
            **os.environ, "DATA_DIR": str(folder), "REDIS_URL": redis_url,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_TIMEOUT": "3",
            "MAIL_FROM": "Gobierno Abierto Chihuahua <abierto@chihuahua.example>",
            "DELIVERY_RETRY_DELAYS": "1,2,4", "DELIVERY_STALE_AFTER": "6", "SWEEP_EVERY": "0.5",
            "CONSUMER_NAME": "e2e", "PYTHONUNBUFFERED": "1",
            # A published key: only development may sign with it (shared.config).
            "SECRET_KEY": "e2e-secret", "ABIERTO_ENV": "development",
            **{f"{name.upper()}_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports[name]}"
               for name in self.WEB},
            "COMMITMENTS_API_URL": f"http://127.0.0.1:{self.ports['commitments']}",
            **{f"{name.upper()}_DATABASE_URL": url for name, url in database_urls.items()},
        }
        self.commands = {
            **{name: [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.ports[name]}",
                      *(["--workers", str(web_workers)] if web_workers else []),
                      f"services.{name}.app:create_app()"] for name in self.WEB},
            "relay-registration": [str(BIN / "abierto"), "relay", "registration"],
            "relay-commitments": [str(BIN / "abierto"), "relay", "commitments"],
            "relay-notifications": [str(BIN / "abierto"), "relay", "notifications"],
            "consumer": [str(BIN / "abierto"), "consume"],
            "worker": [str(BIN / "celery"), "--app", "services.notifications.celery_app",
                       "worker", "--loglevel", "INFO"],
            "sweeper": [str(BIN / "abierto"), "sweep"],
            "holds": [str(BIN / "abierto"), "holds"],
        }

    def url(self, service, path=""):
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def cli(self, *args):
        return subprocess.run([str(BIN / "abierto"), *args], env=self.env, cwd=ROOT,
                              check=True, capture_output=True, text=True).stdout

    def start(self, name):
        log = open(self.folder / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            self.commands[name], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: signals reach its children

    def start_all(self):
        for name in self.commands:
            self.start(name)
        for name in self.WEB:
            wait_until(lambda: _answers(self.url(name, "/readyz")), 30, what=f"{name} ready")

    def kill(self, name, sig=signal.SIGKILL, group=False):
        process = self.processes.pop(name)
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        process.wait(30)

    def stop_all(self):
        for name in list(self.processes):
            process = self.processes.pop(name)
            with _suppress():
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def log(self, name):
        return (self.folder / f"{name}.log").read_text(errors="replace")


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is ProcessLookupError


def _answers(url):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False




def unique_addresses(n, tag="a"):
    run = uuid.uuid4().hex[:8]
    return [f"{tag}-{run}-{i}@example.org" for i in range(n)]


def register(stack, event_id, email, language="es", name="Asistente", headers=None):
    """POST a registration; anonymous (the one 202 answer) unless `headers` carry a
    registrations:write token (201/200 with the id and status)."""
    return requests.post(stack.url("registration", f"/api/v1/events/{event_id}/registrations"),
                         json={"name": name, "email": email, "sector": "citizen",
                               "language": language, "privacy_consent": True}, timeout=10,
                         headers=headers)


def parse(raw):
    return message_from_bytes(raw, policy=policy.default)
