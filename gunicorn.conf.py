"""gunicorn's settings for the web services: gunicorn reads this file from its working
directory, so the Procfile (`make run`), docker-compose.yml and the benchmarks all start
the same way, and the settings below come from the environment.

- WEB_CONCURRENCY: worker processes (default 1; gunicorn's own variable).
- WEB_THREADS: threads per worker (default 1, a sync worker). More than one makes each
  worker a gthread one: while a request waits on its round trips (PostgreSQL, Redis) another
  runs, and a client's connection is kept alive between its requests. Worth it on
  PostgreSQL, where writers run at once; SQLite takes one writer at a time.
docker-compose.yml, the production path, runs 2 of each (docs/operations.md).
"""
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or 1)
threads = int(os.environ.get("WEB_THREADS") or 1)
