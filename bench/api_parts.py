"""Where a registration's time goes inside the API process: CPU per POST, called through the
WSGI app in process (no gunicorn, no HTTP socket; the database and a redis-server of its own
are real), whole and with the rate limit or the use case taken out, beside
bench/skeleton_app.py, bench/floor_app.py and bench/bare_app.py called the same way (on
PostgreSQL, bare Flask only). Not part of `make bench`: a tool for working on the API's hot
path (gunicorn adds the same ~170 µs to every app, so it is left out). On PostgreSQL a
round trip costs the process CPU too (the send, the wait, the wake-up), so it shows there.

    .venv/bin/python bench/api_parts.py --requests 2000 --rounds 3 [--backend postgresql]
"""
import argparse
import io
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import bare_app, floor_app, skeleton_app  # noqa: E402
from bench.api_load import fresh_database  # noqa: E402
from services.registration import service as use_cases  # noqa: E402
from services.registration.app import create_app  # noqa: E402
from shared import config  # noqa: E402
from shared.db import Database, upgrade, utcnow  # noqa: E402
from shared.devstack import RedisServer  # noqa: E402


def environ(path, body):
    """One POST as gunicorn hands it to the app."""
    data = json.dumps(body).encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False}


def cpu_per_post(app, path, count, tag, extra=None):
    """CPU µs per POST of `count` new registrations; every answer must be a 201 (or the
    anonymous 202, which carries no id)."""
    bodies = [{"name": "Ana López", "email": f"{tag}{i}@example.org", "sector": "citizen",
               "privacy_consent": True, **(extra or {})} for i in range(count)]
    environs = [environ(path, body) for body in bodies]  # built before the clock starts
    statuses = []
    started = time.process_time()
    for env in environs:
        b"".join(app(env, lambda status, headers, exc_info=None: statuses.append(status)))
    spent = time.process_time() - started
    refused = [s for s in statuses if not s.startswith(("201", "202"))]
    assert not refused, f"{tag}: {refused[:3]}"
    return spent / count * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="POSTs per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="the best round is reported")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql: the API and bare Flask only (the others speak sqlite3)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="abierto-api-parts-"))
    redis_server = RedisServer(folder, fsync="everysec")  # as bench/api_load.py and compose run it
    redis_server.start()
    try:
        if args.backend == "sqlite":
            urls = {name: f"sqlite:///{folder}/{name}.db" for name in ("api", "skeleton", "floor", "bare")}
            report(urls, redis_server.url, args.requests, args.rounds)
        else:
            with fresh_database("postgresql", folder) as api_url, \
                    fresh_database("postgresql", folder) as bare_url:
                report({"api": api_url, "bare": bare_url}, redis_server.url, args.requests, args.rounds)
    finally:
        redis_server.stop()


def report(urls, redis_url, count, rounds):
    """CPU per POST of the API's variants and of the references `urls` names beside "api"."""
    upgrade("registration", urls["api"])
    bare_app.prepare(urls["bare"])
    os.environ.update(BARE_DATABASE_URL=urls["bare"], REDIS_URL=redis_url,
                      PUBLIC_RATE_LIMIT="1000000/minute", SECRET_KEY="bench-secret",
                      REGISTRATION_PUBLIC_BASE_URL="http://127.0.0.1")
    settings = config.load("registration", database_url=urls["api"], redis_url=redis_url,
                           public_rate_limit="1000000/minute",  # as bench/api_load.py sets them
                           event_client_limit="1000000/minute")
    app = create_app(settings)
    service = app.extensions["abierto"]
    starts = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = use_cases.create_event(service.db, dict(
        title="Bench", starts_at=starts, ends_at=starts + timedelta(hours=2),
        timezone="America/Chihuahua", host_organization="Bench", capacity=None), utcnow())
    path = f"/api/v1/events/{event.id}/registrations"
    receipt = SimpleNamespace(id=1, event_id=event.id, status="confirmed", created_at=utcnow())
    real_register, real_limit = use_cases.register, service.rate_limit
    no_limit = SimpleNamespace(retry_after=lambda client, *also: None)
    variants = {
        "API, whole": (real_register, real_limit),
        "API without the rate limits": (real_register, no_limit),
        "API without the use case": (lambda *a, **kw: (receipt, True), real_limit),
        "API without either": (lambda *a, **kw: (receipt, True), no_limit),
    }
    references, floor_event = {}, None
    if "floor" in urls:
        upgrade("registration", urls["floor"])
        os.environ.update(SKELETON_DATABASE_URL=urls["skeleton"], FLOOR_DATABASE_URL=urls["floor"])
        floor_db = Database(urls["floor"])
        floor_event = use_cases.create_event(floor_db, dict(
            title="Bench", starts_at=starts, ends_at=starts + timedelta(hours=2),
            timezone="America/Chihuahua", host_organization="Bench", capacity=None), utcnow())
        floor_db.dispose()
        references = {"skeleton (flask-smorest, marshmallow, one Core insert)": skeleton_app.create_app(),
                      "floor (our rules, raw sqlite3, no flask-smorest)": floor_app.create_app()}
    references["bare Flask, one insert"] = bare_app.create_app()
    best = {}
    for round_ in range(rounds):
        for number, (name, (register, limit)) in enumerate(variants.items()):
            use_cases.register, service.rate_limit = register, limit
            micros = cpu_per_post(app, path, count, f"r{round_}v{number}-", {"language": "es"})
            best[name] = min(best.get(name, micros), micros)
        use_cases.register, service.rate_limit = real_register, real_limit
        for number, (reference_name, reference) in enumerate(references.items()):
            event_id = floor_event.id if reference_name.startswith("floor") else 1
            micros = cpu_per_post(reference, f"/api/v1/events/{event_id}/registrations", count,
                                  f"r{round_}ref{number}-")
            best[reference_name] = min(best.get(reference_name, micros), micros)
    print(f"CPU per POST, in process, best of {rounds} rounds of {count}:")
    for name, micros in best.items():
        print(f"  {name:<55}{micros:>7.0f} µs")


if __name__ == "__main__":
    main()
