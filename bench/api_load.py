"""Benchmark: registrations per second the Registration API takes, beside its references.

For each database (SQLite, PostgreSQL) on a fresh database: starts only the registration
service with gunicorn exactly as the Procfile does (no --workers: gunicorn's default of one
sync worker, or $WEB_CONCURRENCY), publishes an event with no capacity limit, and lets wrk
POST new registrations (a unique email each) with 16 and with 64 connections. Then, in the
same run and under the same gunicorn and wrk settings:
- on SQLite, bench/floor_app.py: our rules on the thinnest stack (raw sqlite3, no
  flask-smorest): api/floor is what the project's libraries and the rest of our app cost;
- on both, bench/bare_app.py (Flask, one INSERT, nothing of ours): the machine's limit.
Reports rps, p50/p99 latency, errors (socket errors and non-201/202 answers), the peak RSS
of gunicorn, and the issue's ratios: api/floor on SQLite, api/bare on PostgreSQL.
One sync worker serves one connection at a time; the others wait in the listen backlog,
and that wait is part of the latency wrk measures.

    .venv/bin/python bench/api_load.py --seconds 3 --backends sqlite,postgresql
"""
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
import requests
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import bare_app  # noqa: E402
from bench.processes import Watch, _stat  # noqa: E402
from services.registration import service as use_cases  # noqa: E402
from shared.db import Database, upgrade, utcnow  # noqa: E402
from shared.devstack import BIN, RedisServer, answers, free_port, wait_until  # noqa: E402

POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
LUA = ROOT / "bench" / "wrk_register.lua"
WRK_THREADS = 2
# wrk leaves answers slower than its timeout (default 2 s) out of the latencies; a longer one
# keeps them in, so p99 under 64 connections on one worker is measured rather than dropped.
WRK_TIMEOUT = "10s"


# How docker-compose.yml, the PostgreSQL deployment, runs each web service (gunicorn.conf.py);
# the benchmarks run PostgreSQL so, and SQLite as `make run` does (one sync worker).
# tests/unit/test_compose.py keeps the two in step.
COMPOSE_WEB = {"WEB_CONCURRENCY": "2", "WEB_THREADS": "2"}


def web_settings(backend):
    """The web services' settings a run on `backend` uses; the environment's win."""
    chosen = COMPOSE_WEB if backend == "postgresql" else {}
    return {**chosen, **{name: os.environ[name] for name in COMPOSE_WEB if name in os.environ}}


# The references each backend's API is measured against (floor_app speaks raw sqlite3 only).
REFERENCES = {"sqlite": ("floor", "bare"), "postgresql": ("bare",)}


def measure(folder, redis_url, backends=("sqlite", "postgresql"), seconds=30, clients=(16, 64)):
    """Run the scenario on each backend and return a JSON-serialisable dict:

    {backend: {"api": {"16": run, "64": run}, "bare": {...}, "floor": {...} (SQLite),
               "ratio": {"16": api/bare rps, ...}, "floor_ratio": {"16": api/floor rps} (SQLite)},
     "rss_mb": {backend: {"api": {"master", "worker_max"}, "bare": {...}, ...}}, ...}
    where run = {"rps", "p50_ms", "p99_ms", "max_ms", "requests", "errors", "error_kinds"};
    errors counts socket errors and answers other than 201/202; the caller decides what they mean.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results = {"seconds": seconds, "wrk_threads": WRK_THREADS,
               "web": {backend: web_settings(backend) or "one sync worker" for backend in backends},
               "rss_mb": {}}
    runners = {"floor": run_floor, "bare": run_bare}
    for backend in backends:
        measured, rss = {}, {}
        with fresh_database(backend, folder) as api_url:
            upgrade("registration", api_url)
            measured["api"], rss["api"] = run_api(folder, redis_url, api_url, seconds, clients)
        for reference in REFERENCES[backend]:
            with fresh_database(backend, folder) as url:
                measured[reference], rss[reference] = runners[reference](
                    folder, redis_url, url, seconds, clients)
        results[backend] = {**measured, "ratio": _ratios(measured["api"], measured["bare"])}
        if "floor" in measured:
            results[backend]["floor_ratio"] = _ratios(measured["api"], measured["floor"])
        results["rss_mb"][backend] = rss
    return results


def _ratios(ours, reference):
    return {n: round(ours[n]["rps"] / reference[n]["rps"], 3) if reference[n]["rps"] else None
            for n in ours}


@contextmanager
def fresh_database(backend, folder):
    """A new empty database URL; a PostgreSQL one is dropped afterwards, even on failure."""
    name = f"abierto_bench_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        yield f"sqlite:///{folder / name}.db"
        return
    admin = create_engine(f"{POSTGRES_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        with admin.connect() as connection:  # FORCE: gunicorn may not have let go yet
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def base_env(folder, redis_url, port, database_url):
    """The environment both apps get, so only the app differs between them: on PostgreSQL
    compose's web settings, on SQLite `make run`'s (bench.harness.web_settings)."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    return {**os.environ, **web_settings(backend), "DATA_DIR": str(folder), "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-secret", "ABIERTO_ENV": "development", "PYTHONUNBUFFERED": "1",
            "REGISTRATION_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            # every request comes from 127.0.0.1: the per-address limit must not refuse the load
            "PUBLIC_RATE_LIMIT": "1000000/minute", "EVENT_CLIENT_LIMIT": "1000000/minute"}


def run_api(folder, redis_url, database_url, seconds, clients):
    port = free_port()
    env = {**base_env(folder, redis_url, port, database_url), "REGISTRATION_DATABASE_URL": database_url}
    with Gunicorn("services.registration.app:create_app()", port, env, folder / "api.log") as server:
        server.parts = Parts(server, redis_url, database_url)
        token = subprocess.run(
            [str(BIN / "abierto"), "token", "create", "--service", "registration",
             "--scopes", "events:write"], env=env, cwd=ROOT, check=True, capture_output=True,
            text=True).stdout.strip()
        event_id = create_event(server.url, token)
        results = load(server, f"/api/v1/events/{event_id}/registrations", seconds, clients)
    return results, server.rss_mb()


def create_event(base_url, token):
    """An event open for registration for a month, with no capacity limit (null: unlimited)."""
    starts = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    response = requests.post(f"{base_url}/api/v1/events", timeout=10,
                             headers={"Authorization": f"Bearer {token}"}, json={
                                 "title": "Bench", "starts_at": starts.isoformat(),
                                 "ends_at": (starts + timedelta(hours=2)).isoformat(),
                                 "timezone": "America/Chihuahua", "host_organization": "Bench",
                                 "capacity": None})
    response.raise_for_status()
    event = response.json()
    assert event["registration_open"] and event["seats_left"] is None, event
    return event["id"]


def run_floor(folder, redis_url, database_url, seconds, clients, rate_limit=True):
    """bench/floor_app.py on its own migrated database, with one open event like the API's."""
    upgrade("registration", database_url)
    db = Database(database_url)
    starts = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = use_cases.create_event(db, dict(
        title="Bench", starts_at=starts, ends_at=starts + timedelta(hours=2),
        timezone="America/Chihuahua", host_organization="Bench", capacity=None), utcnow())
    db.dispose()
    port = free_port()
    env = {**base_env(folder, redis_url, port, database_url), "FLOOR_DATABASE_URL": database_url,
           "FLOOR_RATE_LIMIT": "on" if rate_limit else "off"}
    with Gunicorn("bench.floor_app:create_app()", port, env, folder / "floor.log") as server:
        server.parts = Parts(server, redis_url, database_url)
        results = load(server, f"/api/v1/events/{event.id}/registrations", seconds, clients)
    return results, server.rss_mb()


def run_bare(folder, redis_url, database_url, seconds, clients):
    bare_app.prepare(database_url)
    port = free_port()
    env = {**base_env(folder, redis_url, port, database_url), "BARE_DATABASE_URL": database_url}
    with Gunicorn("bench.bare_app:create_app()", port, env, folder / "bare.log") as server:
        server.parts = Parts(server, redis_url, database_url)
        results = load(server, "/api/v1/events/1/registrations", seconds, clients)
    return results, server.rss_mb()


def load(server, path, seconds, clients):
    """A short warm-up (discarded), then one wrk run per number of connections."""
    wrk(server, path, 1, max(WRK_THREADS, clients[0]), "warmup")
    return {str(n): wrk(server, path, seconds, n, f"c{n}") for n in clients}


class Parts:
    """CPU seconds, from /proc, of each process a run involves: the gunicorn master and its
    workers, the database's server processes (PostgreSQL backends of this database; SQLite
    works inside gunicorn), redis-server, and wrk itself."""

    def __init__(self, server, redis_url, database_url):
        self.server, self.database_url = server, database_url
        self.redis_pid = redis.Redis.from_url(redis_url).info("server")["process_id"]

    def read(self):
        seconds = {"gunicorn": _tree_cpu(self.server.process.pid),
                   "redis": _cpu(self.redis_pid),
                   "wrk": sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), name)
                              for name in ("ru_utime", "ru_stime"))}
        if not self.database_url.startswith("sqlite"):
            seconds["postgresql"] = sum(_cpu(pid) for pid in _backends(self.database_url))
        return seconds


def _cpu(pid):
    stat = _stat(pid)
    return stat[1] if stat else 0.0


def _tree_cpu(root):
    """CPU seconds of a process and its children (gunicorn's workers)."""
    children = [int(pid) for pid in Path(f"/proc/{root}/task/{root}/children").read_text().split()]
    return _cpu(root) + sum(_cpu(pid) for pid in children)


def _backends(database_url):
    """The pids of the PostgreSQL server processes connected to this database."""
    admin = create_engine(f"{POSTGRES_URL}/postgres")
    try:
        with admin.connect() as connection:
            return connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                                      {"name": make_url(database_url).database}).scalars().all()
    finally:
        admin.dispose()


def wrk(server, path, seconds, connections, tag):
    # requests a previous run left queued in the listen backlog are still being served;
    # /readyz answers after them, so each run starts on an idle server
    wait_until(lambda: answers(f"{server.url}/readyz"), 60, what="the backlog drained")
    before = server.parts.read() if server.parts else None
    out = subprocess.run(
        [shutil.which("wrk"), f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s",
         f"--timeout={WRK_TIMEOUT}", "--latency", "-s", str(LUA), server.url + path,
         "--", f"{tag}-{uuid.uuid4().hex[:6]}"],  # the run tag keeps emails unique across runs
        check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    raw = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    errors = {k: raw[k] for k in ("connect", "read", "write", "timeout", "status", "not_201")}
    # status (>= 400) is a subset of not_201, so it is not added twice
    total = sum(errors[k] for k in ("connect", "read", "write", "timeout", "not_201"))
    run = {"rps": raw["rps"], "p50_ms": raw["p50_ms"], "p99_ms": raw["p99_ms"],
           "max_ms": raw["max_ms"], "requests": raw["requests"], "errors": total,
           "error_kinds": {k: v for k, v in errors.items() if v}}
    if before and raw["requests"]:  # CPU µs per request of each part; /readyz polls are noise
        after = server.parts.read()
        run["cpu_us"] = {part: round((after[part] - before[part]) / raw["requests"] * 1e6)
                         for part in after}
    return run


class Gunicorn:
    """gunicorn as the Procfile starts it, as its own process group, with its RSS sampled."""

    def __init__(self, app, port, env, log):
        self.command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", app]
        self.url, self.env, self.log = f"http://127.0.0.1:{port}", env, log
        self.parts = None  # a Parts, to read the CPU each run costs

    def __enter__(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(self._ready, 30, what=f"{self.command[-1]} ready (see {self.log})")
        except BaseException:
            self.stop()
            raise
        self.watch = Watch({"gunicorn": self.process.pid}, every=0.2).start()
        return self

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.command[-1]} exited; see {self.log}")
        return answers(f"{self.url}/readyz")

    def __exit__(self, *exc):
        self.watch.stop()
        self.stop()

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def rss_mb(self):
        """Peak RSS of the master and of the largest worker, in MB."""
        peak = self.watch.peak_rss()
        return {"master": peak.get("gunicorn", 0.0), "worker_max": peak.get("gunicorn/child", 0.0)}


def print_table(results, backends):
    print(f"{'backend':<12}{'app':<7}{'clients':>8}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'api/floor':>11}{'api/bare':>10}")
    for backend in backends:
        for app in ("api", *REFERENCES[backend]):
            for n, r in results[backend][app].items():
                ratios = [results[backend].get(key, {}).get(n) if app == "api" else None
                          for key in ("floor_ratio", "ratio")]
                print(f"{backend:<12}{app:<7}{n:>8}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
                      f"{r['errors']:>8}" + "".join(
                          f"{'' if ratio is None else f'{ratio:.0%}':>{width}}"
                          for ratio, width in zip(ratios, (11, 10))))
    print("CPU µs per request: " + "; ".join(
        f"{backend} {app} c{n}: " + ", ".join(f"{part} {us}" for part, us in r["cpu_us"].items())
        for backend in backends for app in ("api", *REFERENCES[backend])
        for n, r in results[backend][app].items() if "cpu_us" in r))
    for backend, apps in results["rss_mb"].items():
        print(f"RSS {backend}: " + ", ".join(
            f"{app} master {r['master']} MB, worker {r['worker_max']} MB"
            for app, r in apps.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="per wrk run")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", default="16,64", help="wrk connections, comma-separated")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    clients = tuple(int(n) for n in args.clients.split(","))
    folder = Path(tempfile.mkdtemp(prefix="abierto-api-load-"))
    redis_server = RedisServer(folder, fsync="everysec")  # as compose runs it
    redis_server.start()
    try:
        results = measure(folder, redis_server.url, backends, args.seconds, clients)
    except BaseException:
        print(f"failed; logs kept in {folder}", file=sys.stderr)
        raise
    finally:
        redis_server.stop()
    print_table(results, backends)
    print(json.dumps(results))
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
