"""gunicorn's settings for the web services: gunicorn reads this file from its working
directory, so the Procfile (`make run`), docker-compose.yml and the benchmarks all start
the same way, and the settings below come from the environment.

- WEB_CONCURRENCY: worker processes (default 1; gunicorn's own variable).
- WEB_THREADS: threads per worker (default 1, a sync worker). More than one makes each
  worker a gthread one: while a request waits on its round trips (PostgreSQL, Redis) another
  runs, and a client's connection is kept alive between its requests. Worth it on
  PostgreSQL, where writers run at once; SQLite takes one writer at a time.
docker-compose.yml, the production path, runs 2 of each (docs/operations.md).

With more than one worker, each listens on a socket of its own (SO_REUSEPORT) and the
kernel spreads new connections evenly between them. On one shared socket, whichever worker
woke first took them: measured with 64 keep-alive clients, one worker often held 57–62 of
them while the other idled, and a worker uses one core at most (its GIL).
"""
import os
import socket

workers = int(os.environ.get("WEB_CONCURRENCY") or 1)
threads = int(os.environ.get("WEB_THREADS") or 1)
reuse_port = workers > 1
# gunicorn 25+ opens a management socket (gunicornc: add or kill workers, show the config)
# at one path per user, which every gunicorn of ours would take over from the one before;
# operators manage the services through their process manager, so nothing listens there.
control_socket_disable = True


def on_starting(server):
    """Refuse to start on an address something already listens on. With reuse_port the
    workers would otherwise share it with another gunicorn of ours (a second `make run`,
    say), and each would quietly take half the other's requests."""
    if not server.cfg.reuse_port:
        return  # the master's own bind fails as usual
    for address in server.cfg.address:
        if isinstance(address, tuple):  # host and port; a unix socket is checked by its bind
            _refuse_if_taken(*address)


def _refuse_if_taken(host, port):
    family, kind, proto, _, where = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(where)
        except OSError as error:
            raise SystemExit(f"Error: {host}:{port} is in use already ({error.strerror}): "
                             "stop what listens there, or bind another port") from None
