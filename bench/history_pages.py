"""What a public read costs as the history grows: GET of a commitment page and of
/api/v1/history/verify with 10 history entries and with 10,000, warm, through the Flask
test client (in process: no gunicorn, no socket; the database is real).

The page's own commitment has the same few entries in both sizes; the other entries are
milestone moves of another commitment, so what grows is only the chain to verify.
Target: the 10,000-entry page costs less than twice the 10-entry one. The first GET of
each size is shown apart: it pays for the app's first request (and, with the incremental
verification, the whole-chain hash each web worker repeats every 10 minutes).

    .venv/bin/python bench/history_pages.py                       # SQLite and PostgreSQL
    .venv/bin/python bench/history_pages.py --backends sqlite --requests 50
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sqlalchemy import create_engine, text  # noqa: E402

from bench.api_load import POSTGRES_URL, fresh_database  # noqa: E402
from services.commitments.app import create_app  # noqa: E402
from services.commitments.history import Log  # noqa: E402
from services.commitments.models import Commitment  # noqa: E402
from services.commitments.seed import seed  # noqa: E402
from services.commitments.tracking import add_milestone, update_milestone  # noqa: E402
from shared import config  # noqa: E402
from shared.db import upgrade, utcnow  # noqa: E402

PAGE = "/commitments/MXCHH0003"
VERIFY = "/api/v1/history/verify"
SIZES = (10, 10_000)
BATCH = 1000  # filler entries per transaction


def build(url, size):
    """The seed (4 entries), a milestone of MXCHH0003 and its moves, then filler up to `size`."""
    upgrade("commitments", url)
    settings = config.load("commitments", database_url=url, public_base_url="http://bench.test",
                           secret_key="bench-history-pages-secret")
    app = create_app(settings)
    db = app.extensions["abierto"].db
    now = utcnow()
    seed(db, now)
    milestone = add_milestone(db, "MXCHH0003", {
        "title": {"es": "Instalación", "en": "Set up"}, "status": "in_progress",
        "progress_pct": 10}, "bench", now)
    for pct in (20, 30, 40, 50):  # 4 + 1 + 4 = 9 entries
        update_milestone(db, milestone.id, {"progress_pct": pct}, "bench", now, "http://bench.test")
    with db.transaction() as session:
        other = session.query(Commitment).filter_by(number=1).one().id
    count = 9
    while count < size:
        with db.transaction() as session:
            log = Log(session, "bench", now)
            for _ in range(min(BATCH, size - count)):
                log.add("milestone", 999, "progress_pct", count, count + 1, commitment_id=other)
                count += 1
    with db.reading() as connection:
        assert connection.execute(text("SELECT count(*) FROM history")).scalar() == size
    return app


def timed(client, path, requests):
    """Seconds of the first GET, then median and p90 of the warm ones; every answer a 200."""
    started = time.perf_counter()
    assert client.get(path).status_code == 200, path
    first = time.perf_counter() - started
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, path
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1], first


def postgres_reachable():
    try:
        engine = create_engine(f"{POSTGRES_URL}/postgres")
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception as error:  # the benchmark still runs on SQLite
        print(f"PostgreSQL not reachable ({type(error).__name__}); SQLite only")
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=30, help="timed GETs per path and size")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",")
                if b != "postgresql" or postgres_reachable()]
    folder = Path(tempfile.mkdtemp(prefix="abierto-bench-history-"))
    print(f"warm GETs, median (p90) ms per request, {args.requests} requests each; [first GET]")
    for backend in backends:
        results = {}
        for size in SIZES:
            with fresh_database(backend, folder) as url:
                app = build(url, size)
                client = app.test_client()
                results[size] = {path: timed(client, path, args.requests) for path in (PAGE, VERIFY)}
                app.extensions["abierto"].db.engine.dispose()  # lets PostgreSQL drop it
        for path in (PAGE, VERIFY):
            small, large = results[SIZES[0]][path], results[SIZES[1]][path]
            print(f"{backend:<10} {path:<24} {SIZES[0]:>6}: {small[0] * 1e3:7.2f} ({small[1] * 1e3:6.2f})"
                  f"   {SIZES[1]:>6}: {large[0] * 1e3:7.2f} ({large[1] * 1e3:6.2f})"
                  f"   ratio {large[0] / small[0]:5.2f}   [{small[2] * 1e3:.0f}, {large[2] * 1e3:.0f}]")


if __name__ == "__main__":
    main()
