"""Where the registration API's gap to bare Flask comes from: our API, the mandated stack
alone (bench/skeleton_app.py), our rules on the thinnest stack (bench/floor_app.py, with and
without the rate limit) and bare Flask (bench/bare_app.py), on SQLite, each under gunicorn's
default and the same wrk load as `make bench`, in turns, `--rounds` times.
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
from shared.devstack import RedisServer, free_port  # noqa: E402

CLIENTS = (16, 64)


def run_skeleton(folder, redis_url, database_url, seconds):
    port = free_port()
    env = {**api_load.base_env(folder, redis_url, port, database_url), "SKELETON_DATABASE_URL": database_url}
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
            url = {name: f"sqlite:///{folder}/{name}{round_}.db"
                   for name in ("api", "skeleton", "floor", "floor_unlimited", "bare")}
            upgrade("registration", url["api"])
            bare_app.prepare(url["bare"])
            runs = {
                "ours": api_load.run_api(folder, redis_server.url, url["api"], args.seconds, CLIENTS)[0],
                "skeleton": run_skeleton(folder, redis_server.url, url["skeleton"], args.seconds),
                "floor": api_load.run_floor(
                    folder, redis_server.url, url["floor"], args.seconds, CLIENTS)[0],
                "floor without the rate limit": api_load.run_floor(
                    folder, redis_server.url, url["floor_unlimited"], args.seconds, CLIENTS,
                    rate_limit=False)[0],
                "bare": api_load.run_bare(folder, redis_server.url, url["bare"], args.seconds, CLIENTS)[0],
            }
            failed = {f"{name}, {clients} clients": run[clients]["error_kinds"]
                      for name, run in runs.items() for clients in run if run[clients]["errors"]}
            if failed:  # a rate made of refusals or 500s would compare nothing
                raise SystemExit(f"requests failed: {failed}; logs in {folder}")
            for clients in map(str, CLIENTS):
                bare = runs["bare"][clients]["rps"]
                print(f"round {round_}, {clients} clients: bare {bare}/s; " + ", ".join(
                    f"{name} {run[clients]['rps']}/s = {run[clients]['rps'] / bare:.0%}"
                    for name, run in runs.items() if name != "bare")
                    + f"; ours/skeleton {runs['ours'][clients]['rps'] / runs['skeleton'][clients]['rps']:.0%}")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
