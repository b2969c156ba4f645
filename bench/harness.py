"""What every end-to-end run of the benchmark stands on: its own redis-server, the SMTP
server that notes arrivals (bench/sink.py), fresh databases of one backend, the settings the
stack runs with, and the machine's limits measured in the same run."""
import subprocess
import time
from contextlib import ExitStack, contextmanager

import redis
from sqlalchemy import create_engine, text

from bench import api_load, processes, sink
from bench.sink import Arrivals
from shared.db import upgrade
from shared.devstack import RedisServer, Stack, free_port

BACKENDS = ("sqlite", "postgresql")  # the order a run takes them in
# The stack's settings for the benchmark: every POST comes from 127.0.0.1, so the per-address
# limits must not refuse the load; a delivery is called stuck after production's two minutes.
BENCH_ENV = {"PUBLIC_RATE_LIMIT": "1000000/minute", "EVENT_CLIENT_LIMIT": "1000000/minute",
             "DELIVERY_STALE_AFTER": "120"}


def redis_xadd_rate(url, n):
    """XADDs per second from one Python client, one round trip each (what a relay sees)."""
    client = redis.Redis.from_url(url)
    start = time.perf_counter()
    for i in range(n):
        client.xadd("bench.limit", {"i": i})
    rate = n / (time.perf_counter() - start)
    client.delete("bench.limit")
    return rate


def redis_server_xadd_rate(port, n):
    """XADDs per second the server itself takes: redis-benchmark, 50 clients, unpipelined."""
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(n),
                          "-q", "--csv", "XADD", "bench.limit", "*", "i", "1"],
                         capture_output=True, text=True, check=True).stdout
    redis.Redis(port=port).delete("bench.limit")
    return float(out.strip().splitlines()[-1].split(",")[1].strip('"'))


@contextmanager
def fresh_databases(backend, folder):
    """{service: URL of a new empty database at the newest schema}, dropped afterwards."""
    with ExitStack() as stack:
        urls = {service: stack.enter_context(api_load.fresh_database(backend, folder))
                for service in Stack.WEB}
        for service, url in urls.items():
            upgrade(service, url)
        yield urls


@contextmanager
def environment(folder):
    """A redis-server of its own (AOF, fsync every second, as compose runs it) and the
    benchmark's SMTP server: (redis server, inbox, SMTP port)."""
    folder.mkdir(parents=True, exist_ok=True)
    redis_server, inbox, smtp_port = RedisServer(folder, fsync="everysec"), Arrivals(), free_port()
    redis_server.start()
    controller = sink.serve(inbox, smtp_port)
    try:
        yield redis_server, inbox, smtp_port
    finally:
        controller.stop()
        redis_server.stop()


def servers(redis_server, urls):
    """{name: root pid} of the servers the stack's processes use, for the CPU table: this
    run's redis-server and, on PostgreSQL, the postmaster (its backends, WAL writer and
    checkpointer are its children). The PostgreSQL server is the machine's, so what else
    it serves meanwhile counts too; nothing else runs during a benchmark."""
    found = {"redis-server": redis_server.process.pid}
    url = next(iter(urls.values()))
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.connect() as connection:  # read while the backend lives: it ends with it
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            found["postgresql"] = processes.parent(backend)
        engine.dispose()
    return found


def spent(watch, before, own_before):
    """CPU seconds each tree used since `before`, and this process's own since `own_before`."""
    cpu = {k: round(v - before.get(k, 0.0), 1) for k, v in watch.cpu().items()}
    # This process too: its clients and the SMTP server share the stack's cores.
    cpu["bench (clients + SMTP server)"] = round(time.process_time() - own_before, 1)
    return cpu


def smtp_limit(inbox, smtp_port, sizes):
    return {"smtp_limit_per_s": round(sink.smtp_one_connection_rate(
        smtp_port, sizes["smtp_limit_n"], inbox.latest), 1), "email_bytes": len(inbox.latest)}


def redis_limits(redis_server, sizes):
    return {"redis_xadd_per_s": round(redis_server_xadd_rate(redis_server.port,
                                                             20 * sizes["smtp_limit_n"])),
            "redis_xadd_one_client_per_s": round(redis_xadd_rate(redis_server.url,
                                                                 5 * sizes["smtp_limit_n"]))}
