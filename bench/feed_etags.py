"""What a reader holding a public feed costs: CPU per GET of /events.ics and
/events/open-gov-week.csv with `If-None-Match` set to the current ETag (the 304 a calendar app
or a cache gets every few minutes), and without it (the 200), with 100 upcoming events, warm,
through the Flask test client in this process (no gunicorn, no socket; the database is real).

    .venv/bin/python bench/feed_etags.py                         # SQLite and PostgreSQL
    .venv/bin/python bench/feed_etags.py --backends sqlite --requests 100 --rounds 5

CPU seconds (time.process_time), not wall clock: the machine is shared. Each round times
`--requests` GETs of each kind; the figure is the median round's milliseconds per GET.
"""
import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.api_load import fresh_database  # noqa: E402
from bench.history_pages import postgres_reachable  # noqa: E402
from services.registration import service as use_cases  # noqa: E402
from services.registration.app import create_app  # noqa: E402
from shared import config  # noqa: E402
from shared.db import upgrade, utcnow  # noqa: E402

PATHS = ("/events.ics", "/events/open-gov-week.csv")
EVENTS = 100


def build(url):
    upgrade("registration", url)
    settings = config.load("registration", database_url=url, public_base_url="http://bench.test",
                           secret_key="bench-feed-etags-secret")
    app = create_app(settings)
    db = app.extensions["abierto"].db
    starts = utcnow().replace(microsecond=0) + timedelta(days=3)
    for number in range(EVENTS):
        begins = starts + timedelta(days=number)
        use_cases.create_event(db, dict(
            title=f"Mesa de trabajo {number}", description="Seguimiento del plan de acción " * 8,
            starts_at=begins, ends_at=begins + timedelta(hours=2), timezone="America/Chihuahua",
            host_organization="Coordinación de Transparencia", venue="Salón del Séptimo piso",
            address="Calle Victoria No.4, Centro", city="Chihuahua", country="MX",
            latitude=28.6353, longitude=-106.0889, capacity=None), utcnow())
    return app


def cpu_ms_per_get(client, path, headers, requests, status):
    started = time.process_time()
    for _ in range(requests):
        answer = client.get(path, headers=headers)
        assert answer.status_code == status, (path, answer.status_code)
    return (time.process_time() - started) / requests * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=50, help="GETs per round and kind")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b != "postgresql" or postgres_reachable()]
    folder = Path(tempfile.mkdtemp(prefix="abierto-bench-feeds-"))
    print(f"CPU ms per GET, median of {args.rounds} rounds of {args.requests}; {EVENTS} events")
    for backend in backends:
        with fresh_database(backend, folder) as url:
            app = build(url)
            client = app.test_client()
            for path in PATHS:
                tag = client.get(path).headers["ETag"]
                held, fresh = [], []
                for _ in range(args.rounds):  # in turns, so drift in the machine hits both
                    held.append(cpu_ms_per_get(client, path, {"If-None-Match": tag},
                                               args.requests, 304))
                    fresh.append(cpu_ms_per_get(client, path, {}, args.requests, 200))
                print(f"{backend:<10} {path:<28} 304: {statistics.median(held):6.2f}"
                      f"   200: {statistics.median(fresh):6.2f}")
            app.extensions["abierto"].db.engine.dispose()  # lets PostgreSQL drop it


if __name__ == "__main__":
    main()
