"""Benchmark: how fast a registration becomes an email, beside the machine's own limits.

Starts the real local stack (gunicorn, relays, consumer, Celery worker, sweeper) against
its own redis-server and an aiosmtpd server that records when each message arrived, on
SQLite, then prints a table and writes the same figures as JSON under bench/results/.

    .venv/bin/python bench/pipeline.py            # the full run (1,000 registrations)
    .venv/bin/python bench/pipeline.py --smoke    # a few seconds; fails unless every email arrives once
"""
import argparse
import json
import smtplib
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from shared.db import upgrade  # noqa: E402
from tests.e2e.harness import RedisServer, SMTPServer, Stack, wait_until  # noqa: E402


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def smtp_one_connection_rate(port, n):
    """Messages per second our SMTP server accepts over one reused connection."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@b.c", "limit@example.org", "x"
    message.set_content("x" * 2000)
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        start = time.perf_counter()
        for _ in range(n):
            smtp.send_message(message)
        return n / (time.perf_counter() - start)


def redis_xadd_rate(url, n):
    client = redis.Redis.from_url(url)
    start = time.perf_counter()
    for i in range(n):
        client.xadd("bench.limit", {"i": i})
    rate = n / (time.perf_counter() - start)
    client.delete("bench.limit")
    return rate


def register_all(stack, event_id, addresses, clients, per_second=None):
    """POST one registration per address; return {address: monotonic time of its POST}."""
    url = stack.url("registration", f"/api/v1/events/{event_id}/registrations")
    posted, session = {}, requests.Session()

    def one(index_address):
        index, address = index_address
        if per_second:
            time.sleep(max(0.0, start + index / per_second - time.monotonic()))
        posted[address] = time.monotonic()
        response = session.post(url, json={"name": "Bench", "email": address, "sector": "citizen",
                                           "privacy_consent": True}, timeout=30)
        assert response.status_code == 201, response.text

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, enumerate(addresses)))
    return posted, time.monotonic() - start


def arrivals(smtp, addresses, timeout):
    """{address: [arrival times]}, once every address has its email (and a second to spare)."""
    wanted = set(addresses)
    wait_until(lambda: smtp.inbox.count(addresses) == len(wanted), timeout, interval=0.05,
               what="every email")
    time.sleep(1)  # a duplicate, if any, has time to arrive
    found = {}
    for (to, _message), (arrived, _raw) in zip(smtp.inbox.parsed(), list(smtp.inbox.messages)):
        for address in to & wanted:
            found.setdefault(address, []).append(arrived)
    return found


def scenario(stack, smtp, event_id, n, clients, per_second, tag, timeout):
    addresses = [f"{tag}-{i}@bench.example" for i in range(n)]
    posted, post_seconds = register_all(stack, event_id, addresses, clients, per_second)
    found = arrivals(smtp, addresses, timeout)
    latencies = [found[a][0] - posted[a] for a in addresses]
    first_post = min(posted.values())
    last_arrival = max(times[0] for times in found.values())
    return {
        "registrations": n, "clients": clients, "target_per_second": per_second,
        "api_seconds": round(post_seconds, 2),
        "p50_s": round(percentile(latencies, 50), 3), "p95_s": round(percentile(latencies, 95), 3),
        "p99_s": round(percentile(latencies, 99), 3),
        "last_email_after_s": round(last_arrival - first_post, 2),
        "emails_per_second": round(n / (last_arrival - first_post), 1),
        "duplicates": sum(len(t) - 1 for t in found.values()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    args = parser.parse_args()
    n = 40 if args.smoke else 1000
    folder = Path(tempfile.mkdtemp(prefix="abierto-bench-"))
    redis_server, smtp = RedisServer(folder), SMTPServer(folder / "mail")
    redis_server.start()
    smtp.start()
    urls = {s: f"sqlite:///{folder / s}.db" for s in Stack.WEB}
    for service, url in urls.items():
        upgrade(service, url)
    stack = Stack(folder, redis_server.url, smtp.port, urls)
    stack.env.update({"PUBLIC_RATE_LIMIT": "1000000/minute", "DELIVERY_STALE_AFTER": "120"})
    try:
        stack.start_all()
        token = stack.cli("token", "create", "--service", "registration", "--scopes", "events:write").strip()
        event = requests.post(stack.url("registration", "/api/v1/events"), timeout=10,
                              headers={"Authorization": f"Bearer {token}"}, json={
                                  "title": "Bench", "starts_at": "2031-05-30T10:00:00-06:00",
                                  "ends_at": "2031-05-30T12:00:00-06:00",
                                  "timezone": "America/Chihuahua", "host_organization": "Bench"}).json()
        limits = {"smtp_one_connection_per_s": round(smtp_one_connection_rate(smtp.port, 200 if args.smoke else 2000), 1),
                  "redis_xadd_per_s": round(redis_xadd_rate(redis_server.url, 2000 if args.smoke else 20000))}
        results = {
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "smoke": args.smoke,
            "limits": limits,
            "burst": scenario(stack, smtp, event["id"], n, 16, None, "burst", 300),
            "steady_50": scenario(stack, smtp, event["id"], n, 16, 50, "steady", 300),
        }
    finally:
        stack.stop_all()
        smtp.stop()
        redis_server.stop()
    limit = results["limits"]["smtp_one_connection_per_s"]
    print(f"{'scenario':<12}{'n':>6}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}{'last s':>8}{'emails/s':>10}{'of SMTP':>9}{'dups':>6}")
    for name in ("burst", "steady_50"):
        r = results[name]
        print(f"{name:<12}{r['registrations']:>6}{r['p50_s']:>8}{r['p95_s']:>8}{r['p99_s']:>8}"
              f"{r['last_email_after_s']:>8}{r['emails_per_second']:>10}{r['emails_per_second'] / limit:>9.0%}{r['duplicates']:>6}")
    print(f"limits: SMTP one connection {limit}/s, Redis XADD {results['limits']['redis_xadd_per_s']}/s")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pipeline-{'smoke' if args.smoke else 'full'}.json").write_text(json.dumps(results, indent=2))
    if any(results[s]["duplicates"] for s in ("burst", "steady_50")):
        sys.exit("duplicate emails")


if __name__ == "__main__":
    main()
