"""Instructions per registration in the API's process, which a busy host does not move:
anonymous POSTs through the WSGI app in process (as bench/api_parts.py), on SQLite or
PostgreSQL, with a redis-server of its own; run under callgrind, the script switches the
count on after a warm-up and off before its clean-up, so valgrind's `I refs` divided by
--requests is the figure. User space only: the kernel's part of each
round trip, and the waiting, are not in it (count the round trips with `strace -e sendto`).

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/api_instructions.py --backend postgresql --requests 100
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.api_load import fresh_database  # noqa: E402
from bench.api_parts import environ  # noqa: E402
from services.registration import service as use_cases  # noqa: E402
from services.registration.app import create_app  # noqa: E402
from shared import config  # noqa: E402
from shared.db import upgrade, utcnow  # noqa: E402
from shared.devstack import RedisServer  # noqa: E402

WARM_UP = 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=100, help="POSTs counted")
    parser.add_argument("--public-rate-limit", default="1000000/minute",
                        help="PUBLIC_RATE_LIMIT (e.g. 1000000/minute;10000000/hour: two rates, as the default has)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="abierto-api-instructions-"))
    redis_server = RedisServer(folder, fsync="everysec")
    redis_server.start()
    try:
        if args.backend == "sqlite":
            run(f"sqlite:///{folder}/api.db", redis_server.url, args.requests, args.public_rate_limit)
        else:
            with fresh_database("postgresql", folder) as url:
                run(url, redis_server.url, args.requests, args.public_rate_limit)
    finally:
        redis_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run(database_url, redis_url, count, public_rate_limit):
    upgrade("registration", database_url)
    settings = config.load("registration", database_url=database_url, redis_url=redis_url,
                           public_rate_limit=public_rate_limit,  # bench/api_load.py's by default
                           event_client_limit="1000000/minute")
    app = create_app(settings)
    starts = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = use_cases.create_event(app.extensions["abierto"].db, dict(
        title="Bench", starts_at=starts, ends_at=starts + timedelta(hours=2),
        timezone="America/Chihuahua", host_organization="Bench", capacity=None), utcnow())
    path = f"/api/v1/events/{event.id}/registrations"
    statuses = []

    def post(number):
        body = {"name": "Ana López", "email": f"i{number}@example.org", "sector": "citizen",
                "privacy_consent": True, "language": "es"}
        b"".join(app(environ(path, body), lambda status, headers, exc_info=None: statuses.append(status)))

    for number in range(WARM_UP):
        post(number)
    counting = instrument("on")
    for number in range(WARM_UP, WARM_UP + count):
        post(number)
    instrument("off")  # the clean-up and the interpreter's shutdown are no registration's work
    refused = [status for status in statuses if not status.startswith("202")]
    assert not refused, refused[:3]
    print(f"{count} registrations counted{'' if counting else ' (not under callgrind: nothing counted)'};"
          " instructions per registration = I refs / requests", flush=True)


def instrument(state):
    """Switch callgrind's count on or off for this process; False when not under callgrind."""
    if not shutil.which("callgrind_control"):
        return False
    answer = subprocess.run(["callgrind_control", "-i", state, str(os.getpid())],
                            capture_output=True, text=True)
    return "OK." in answer.stdout  # it exits 0 either way


if __name__ == "__main__":
    main()
