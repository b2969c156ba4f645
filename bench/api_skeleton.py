"""Where the registration API's gap to bare Flask comes from: our API, the mandated stack
alone (bench/skeleton_app.py) and bare Flask (bench/bare_app.py), on SQLite, each under
gunicorn's default and the same wrk load as `make bench`, in turns, `--rounds` times.
Not part of `make bench`: a comparison to run when the API's target is discussed.

    .venv/bin/python bench/api_skeleton.py --seconds 20 --rounds 2
"""
import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import api_load, bare_app  # noqa: E402
from shared.db import upgrade  # noqa: E402
from tests.e2e.harness import RedisServer, free_port  # noqa: E402

CLIENTS = (16, 64)


def run_skeleton(folder, redis_url, database_url, seconds):
    port = free_port()
    env = {**api_load.base_env(folder, redis_url, port), "SKELETON_DATABASE_URL": database_url}
    with api_load.Gunicorn("bench.skeleton_app:create_app()", port, env,
                           folder / "skeleton.log") as server:
        return api_load.load(server, "/api/v1/events/1/registrations", seconds, CLIENTS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="abierto-skeleton-"))
    redis_server = RedisServer(folder, fsync="everysec")
    redis_server.start()
    try:
        for round_ in range(1, args.rounds + 1):
            url = {name: f"sqlite:///{folder}/{name}{round_}.db" for name in ("api", "skeleton", "bare")}
            upgrade("registration", url["api"])
            bare_app.prepare(url["bare"])
            runs = {
                "ours": api_load.run_api(folder, redis_server.url, url["api"], args.seconds, CLIENTS)[0],
                "skeleton": run_skeleton(folder, redis_server.url, url["skeleton"], args.seconds),
                "bare": api_load.run_bare(folder, redis_server.url, url["bare"], args.seconds, CLIENTS)[0],
            }
            for clients in map(str, CLIENTS):
                ours, skeleton, bare = (runs[name][clients]["rps"] for name in ("ours", "skeleton", "bare"))
                print(f"round {round_}, {clients} clients: ours {ours}/s, skeleton {skeleton}/s, "
                      f"bare {bare}/s; ours/bare {ours / bare:.0%}, skeleton/bare {skeleton / bare:.0%}, "
                      f"ours/skeleton {ours / skeleton:.0%}")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
