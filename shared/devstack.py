"""The stack on free ports, for the end-to-end tests and the benchmarks; no service imports it.

The suite (tests/e2e) and `make bench` (bench/) both start Abierto's real processes, a
Redis of their own and wait on them; this is the one copy, so neither imports the other.
"""
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests
from celery import Celery

from shared import services

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def procfile_commands():
    """The Procfile's processes: name -> command line, read as honcho reads them."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
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


class Stack:
    """The Abierto processes, started as `make run` starts them, on free ports.

    The commands are the Procfile's (the one list of processes), for the processes
    scripts/processes.sh names: with mail sent to the tests' own SMTP server, every one but
    the local sink. Each web app binds its own free port instead of its declared one.
    """

    WEB = services.names(lambda declaration: declaration.port is not None)

    def __init__(self, folder, redis_url, smtp_port, database_urls, web_workers=2, name="e2e"):
        """`web_workers` None starts gunicorn at its default, as the Procfile does.

        `name` stands for the host name a machine gives its processes: the consumer's
        name in the bus group and the Celery worker's node name. A second set of the
        processes, as on a second machine, is a second Stack with the same Redis and
        databases and a folder (DATA_DIR) and name of its own (DESIGN.md, growing past
        one machine)."""
        self.folder, self.processes, self.name = folder, {}, name
        self.ports = {name: free_port() for name in self.WEB}
        local = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.env = {
            **os.environ, "DATA_DIR": str(folder), "REDIS_URL": redis_url,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_TIMEOUT": "3",
            "MAIL_FROM": "Gobierno Abierto Chihuahua <abierto@chihuahua.example>",
            "DELIVERY_RETRY_DELAYS": "1,2,4", "DELIVERY_STALE_AFTER": "6", "SWEEP_EVERY": "0.5",
            "CONSUMER_NAME": name, "PYTHONUNBUFFERED": "1",
            # A published key: only development may sign with it (shared.config).
            "SECRET_KEY": "e2e-secret", "ABIERTO_ENV": "development",
            **{f"{name.upper()}_PUBLIC_BASE_URL": url for name, url in local.items()},
            **{f"{name.upper()}_API_URL": url for name, url in local.items()},
            **{f"{name.upper()}_DATABASE_URL": url for name, url in database_urls.items()},
        }
        procfile = procfile_commands()
        self.commands = {name: self._command(procfile[name], web_workers)
                         for name in self._process_names()}

    def _process_names(self):
        listed = subprocess.run([str(ROOT / "scripts" / "processes.sh")], env=self.env,
                                check=True, capture_output=True, text=True)
        return listed.stdout.split()

    def _command(self, line, web_workers):
        """A Procfile line as an argument list: our executables, a web app on its free port."""
        program, *args = shlex.split(line.replace("${BIND_HOST:-127.0.0.1}", "127.0.0.1"))
        if program == "gunicorn":
            bind = args.index("--bind") + 1
            host, _, port = args[bind].rpartition(":")
            (name,) = [n for n in self.WEB if services.declared()[n].port == int(port)]
            args[bind] = f"{host}:{self.ports[name]}"
            if web_workers:
                args[bind + 1:bind + 1] = ["--workers", str(web_workers)]
        if program == "celery":
            args += ["--hostname", f"{self.name}@%h"]
        return [str(BIN / program) if (BIN / program).exists() else program, *args]

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
            wait_until(lambda: answers(self.url(name, "/readyz")), 30, what=f"{name} ready")

    def wait_for_worker(self, timeout=60):
        """Until the Celery worker answers a ping: it takes tasks from then on (a worker
        that starts beside another first asks it for its state, which takes a moment)."""
        broker = Celery(broker=self.env["REDIS_URL"])
        node = f"{self.name}@{socket.gethostname()}"
        try:
            wait_until(lambda: broker.control.ping(destination=[node], timeout=0.5), timeout,
                       what=f"the worker {node}")
        finally:
            broker.close()

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


def answers(url):
    """Whether `url` answers 200 now (False while the process is still starting)."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
