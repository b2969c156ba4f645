"""Benchmark: how fast a registration becomes an email and a milestone becomes alerts,
beside what this machine itself can do, measured in the same run.

1. Registration API under wrk (16 and 64 clients), SQLite and PostgreSQL, against a bare
   Flask endpoint that inserts one row and, on SQLite, our rules on the thinnest stack
   (bench/floor_app.py), under the same gunicorn settings (bench/api_load.py).
2. Registration -> confirmation email, end to end: 1,000 registrations as fast as the API
   takes them, then at a steady 50 a second.
3. Milestone -> alerts: 10,000 confirmed followers, one change.
4. Limits: the SMTP server's rate over one reused connection, Redis XADD, bare Flask.
5. Event -> reminders: 5,000 confirmed attendees, one reminder falls due.

Scenarios 2, 3 and 5 run the real local stack (gunicorn at its default workers, relays,
consumer, Celery worker, sweeper) against its own redis-server and an SMTP server that
records when each message arrived. Prints a table and writes it as JSON to bench/results/.

    .venv/bin/python bench/pipeline.py            # the full run (a few minutes)
    .venv/bin/python bench/pipeline.py --smoke    # seconds; fails unless every email arrives once
    .venv/bin/python bench/pipeline.py --only reminders,fan_out   # those scenarios alone, full size
"""
import argparse
import http.client
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
import requests
from sqlalchemy import create_engine, insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import report  # noqa: E402
from bench.processes import Watch  # noqa: E402
from services.mailsink.server import Pipelining, serve  # noqa: E402
from services.notifications.mail.mailer import send_pipelined  # noqa: E402
from services.notifications.models import Subscription  # noqa: E402
from services.registration.models import Event, Registration  # noqa: E402
from shared.db import upgrade, utcnow  # noqa: E402
from shared.devstack import RedisServer, Stack, free_port, wait_until  # noqa: E402

FULL = {"registrations": 1000, "followers": 10_000, "attendees": 5000, "api_seconds": 30,
        "smtp_limit_n": 2000}
SMOKE = {"registrations": 40, "followers": 200, "attendees": 200, "api_seconds": 1,
         "smtp_limit_n": 200}
REMINDER_LEAD = 3  # seconds from the PATCH that sets a reminder to its falling due


class Arrivals(Pipelining):
    """An aiosmtpd handler that accepts everything and only notes when each recipient's
    message came: no parsing, no disk, so the server costs the stack as little as it can."""

    def __init__(self):
        self.times = defaultdict(list)
        self.latest = None  # the last message as it came over the wire

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        for recipient in envelope.rcpt_tos:
            self.times[recipient].append(now)
        self.latest = envelope.original_content
        return "250 Message accepted for delivery"

    def wait_for(self, addresses, timeout):
        """{address: [arrival times]} once each has one (and a second more for duplicates)."""
        wait_until(lambda: all(a in self.times for a in addresses), timeout, interval=0.05,
                   what=f"{len(addresses)} emails")
        time.sleep(1)
        return {a: list(self.times[a]) for a in addresses}


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def smtp_one_connection_rate(port, n, payload, tries=3):
    """Messages per second the SMTP server accepts over one reused connection: the best of
    a few tries, each one message at a time and pipelined (as the worker sends), since
    anything else the machine does only ever lowers it.

    `payload` is one of the emails whose rate is compared with this: the server reads a
    message line by line, so its rate depends on the size (a 10 kB confirmation goes
    about a quarter slower than a 4 kB text).
    """
    return max(_smtp_rate(port, n, payload, pipelined)
               for _ in range(tries) for pipelined in (False, True))


def _smtp_rate(port, n, payload, pipelined):
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo()
        start = time.perf_counter()
        for _ in range(n):
            if pipelined:
                send_pipelined(smtp, "a@b.c", "limit@example.org", payload)
            else:
                smtp.sendmail("a@b.c", ["limit@example.org"], payload)
        return n / (time.perf_counter() - start)


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


def register_all(stack, event_id, addresses, clients, per_second=None):
    """POST one registration per address; return {address: monotonic time of its POST}.

    Plain http.client, not requests: the clients share the machine with the stack, and
    requests cost about three times the CPU per POST (gunicorn's sync workers close each
    connection, so there is no keep-alive to gain from a session).
    """
    path = f"/api/v1/events/{event_id}/registrations"
    port, posted = stack.ports["registration"], {}

    def one(index_address):
        index, address = index_address
        body = json.dumps({"name": "Bench", "email": address, "sector": "citizen",
                           "privacy_consent": True})
        if per_second:
            time.sleep(max(0.0, start + index / per_second - time.monotonic()))
        posted[address] = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 202, response.read()  # the anonymous answer
        finally:
            connection.close()

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, enumerate(addresses)))
    return posted


def registrations_to_emails(stack, inbox, event_id, n, per_second, tag):
    """Scenario 2: each registration's POST to its confirmation's arrival."""
    addresses = [f"{tag}-{i}@bench.example" for i in range(n)]
    posted = register_all(stack, event_id, addresses, 16, per_second)
    found = inbox.wait_for(addresses, timeout=600)
    latencies = [found[a][0] - posted[a] for a in addresses]
    span = max(times[0] for times in found.values()) - min(posted.values())
    return {
        "registrations": n, "clients": 16, "target_per_second": per_second,
        "p50_s": round(percentile(latencies, 50), 3), "p95_s": round(percentile(latencies, 95), 3),
        "p99_s": round(percentile(latencies, 99), 3), "last_email_after_s": round(span, 2),
        "emails_per_second": round(n / span, 1),
        "duplicates": sum(len(t) - 1 for t in found.values()),
    }


def milestone_to_alerts(stack, inbox, writer, n):
    """Scenario 3: n confirmed followers of one commitment, one milestone change."""
    milestone_id, commitment_id = new_milestone(stack, writer)
    followers = [f"follower-{i}@bench.example" for i in range(n)]
    engine = create_engine(stack.env["NOTIFICATIONS_DATABASE_URL"])
    with engine.begin() as connection:  # setup, not measured: followers already confirmed
        connection.execute(insert(Subscription), [
            {"email": a, "email_key": a, "topic": f"commitment:{commitment_id}", "language": "es",
             "status": "confirmed", "created_at": utcnow(), "confirmed_at": utcnow()}
            for a in followers])
    engine.dispose()
    start = time.monotonic()
    call(stack, "commitments", "patch", f"/api/v1/milestones/{milestone_id}", writer,
         {"status": "met", "progress_pct": 100, "justification": "Concluido"})
    found = inbox.wait_for(followers, timeout=900)
    span = max(times[0] for times in found.values()) - start
    return {"followers": n, "last_email_after_s": round(span, 2),
            "emails_per_second": round(n / span, 1),
            "duplicates": sum(len(t) - 1 for t in found.values())}


def event_to_reminders(stack, inbox, organiser, n):
    """Scenario 5: n confirmed attendees of one event, one reminder falls due; from its due
    time to the last reminder's arrival."""
    event = call(stack, "registration", "post", "/api/v1/events", organiser, {
        "title": "Recordatorios", "starts_at": "2031-05-30T10:00:00-06:00",
        "ends_at": "2031-05-30T12:00:00-06:00", "timezone": "America/Chihuahua",
        "host_organization": "Bench"})
    attendees = [f"reminded-{i}@bench.example" for i in range(n)]
    engine = create_engine(stack.env["REGISTRATION_DATABASE_URL"])
    with engine.begin() as connection:  # setup, not measured: the seats were taken long ago
        now = utcnow()
        connection.execute(insert(Registration), [
            {"event_id": event["id"], "name": "Bench", "email": a, "email_key": a,
             "sector": "citizen", "language": "es", "status": "confirmed",
             "privacy_consent_at": now, "queued_at": now, "created_at": now, "updated_at": now}
            for a in attendees])
        connection.execute(update(Event).where(Event.id == event["id"]).values(confirmed_count=n))
    engine.dispose()
    # The event moves to an hour and a few seconds from now, reminded an hour before: not a
    # change anyone is told of, and a reminder due in REMINDER_LEAD seconds.
    due = utcnow().replace(microsecond=0) + timedelta(seconds=REMINDER_LEAD)
    call(stack, "registration", "patch", f"/api/v1/events/{event['id']}", organiser, {
        "notify": False, "reminders": ["PT1H"], "starts_at": (due + timedelta(hours=1)).isoformat(),
        "ends_at": (due + timedelta(hours=2)).isoformat()})
    due_at = time.monotonic() + (due - utcnow()).total_seconds()
    found = inbox.wait_for(attendees, timeout=900)
    first, last = (f(times[0] for times in found.values()) for f in (min, max))
    span = last - due_at
    return {"attendees": n, "first_email_after_s": round(first - due_at, 2),
            "last_email_after_s": round(span, 2), "emails_per_second": round(n / span, 1),
            "duplicates": sum(len(t) - 1 for t in found.values())}


def call(stack, service, method, path, headers, body):
    response = requests.request(method, stack.url(service, path), json=body, headers=headers,
                                timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def new_milestone(stack, writer):
    plan = call(stack, "commitments", "post", "/api/v1/action-plans", writer, {
        "member": "Municipio de Benchmark", "ordinal": 1,
        "title": {"es": "Plan de Acción", "en": "Action Plan"}})
    commitment = call(stack, "commitments", "post", "/api/v1/commitments", writer, {
        "action_plan_id": plan["id"], "number": 1,
        "title": {"es": "Compromiso muy seguido", "en": "A much-followed commitment"}})
    milestone = call(stack, "commitments", "post",
                     f"/api/v1/commitments/{commitment['id']}/milestones", writer, {
                         "title": {"es": "Primer hito", "en": "First milestone"},
                         "planned_start": "2031-01-01", "planned_end": "2031-06-30",
                         "status": "in_progress", "progress_pct": 40})
    return milestone["id"], commitment["id"]


def bearer(stack, service, scopes):
    token = stack.cli("token", "create", "--service", service, "--scopes", scopes).strip()
    return {"Authorization": f"Bearer {token}"}


def run_stack(folder, redis_url, redis_port, sizes, only=None):
    """Scenarios 2, 3 and 5 (or those named in `only`) and the SMTP/Redis limits, on one
    stack; returns their figures."""
    inbox, smtp_port = Arrivals(), free_port()
    controller = serve(None, "127.0.0.1", smtp_port, handler=inbox)
    urls = {s: f"sqlite:///{folder / s}.db" for s in Stack.WEB}
    for service, url in urls.items():
        upgrade(service, url)
    stack = Stack(folder, redis_url, smtp_port, urls, web_workers=None)
    stack.env.update({"PUBLIC_RATE_LIMIT": "1000000/minute", "EVENT_CLIENT_LIMIT": "1000000/minute",
                      "DELIVERY_STALE_AFTER": "120"})
    results = {}
    try:
        stack.start_all()
        watch = Watch({name: p.pid for name, p in stack.processes.items()}).start()
        results["limits"] = {
            "redis_xadd_per_s": round(redis_server_xadd_rate(redis_port, 20 * sizes["smtp_limit_n"])),
            "redis_xadd_one_client_per_s": round(redis_xadd_rate(redis_url, 5 * sizes["smtp_limit_n"]))}
        organiser = bearer(stack, "registration", "events:write")
        event = call(stack, "registration", "post", "/api/v1/events", organiser, {
            "title": "Bench", "starts_at": "2031-05-30T10:00:00-06:00",
            "ends_at": "2031-05-30T12:00:00-06:00", "timezone": "America/Chihuahua",
            "host_organization": "Bench"})
        writer = bearer(stack, "commitments", "commitments:write")
        n, cpu = sizes["registrations"], {}
        for name, run in (
                ("burst", lambda: registrations_to_emails(stack, inbox, event["id"], n, None, "burst")),
                ("steady_50", lambda: registrations_to_emails(stack, inbox, event["id"], n, 50, "steady")),
                ("fan_out", lambda: milestone_to_alerts(stack, inbox, writer, sizes["followers"])),
                ("reminders", lambda: event_to_reminders(stack, inbox, organiser, sizes["attendees"]))):
            if only and name not in only:
                continue
            before, own_before = watch.cpu(), time.process_time()
            results[name] = run()
            cpu[name] = {k: round(v - before.get(k, 0.0), 1) for k, v in watch.cpu().items()}
            # This process too: its clients and the SMTP server share the stack's cores.
            cpu[name]["bench (clients + SMTP server)"] = round(time.process_time() - own_before, 1)
            # The machine's pace drifts over minutes (a shared host): each scenario gets the
            # SMTP limit measured right after it, with the last of its own emails.
            results[name]["smtp_limit_per_s"] = round(smtp_one_connection_rate(
                smtp_port, sizes["smtp_limit_n"], inbox.latest), 1)
            results[name]["email_bytes"] = len(inbox.latest)
        watch.stop()
        results["cpu_s"], results["rss_mb"] = cpu, watch.peak_rss()
    finally:
        stack.stop_all()
        controller.stop()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--skip-api", action="store_true", help="scenarios 2, 3 and 5 only")
    parser.add_argument("--only", type=lambda text: text.split(","), metavar="NAME,...",
                        help=f"these of {', '.join(report.SCENARIOS)} alone (no API scenario)")
    args = parser.parse_args()
    if args.only and set(args.only) - set(report.SCENARIOS):
        parser.error(f"--only takes {', '.join(report.SCENARIOS)}")
    sizes = SMOKE if args.smoke else FULL
    folder = Path(tempfile.mkdtemp(prefix="abierto-bench-"))
    redis_server = RedisServer(folder, fsync="everysec")  # as compose runs it
    redis_server.start()
    results = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "smoke": args.smoke, "cores": os.cpu_count()}
    try:
        if not (args.skip_api or args.only):
            from bench import api_load
            results["api"] = api_load.measure(folder / "api", redis_server.url,
                                              ("sqlite", "postgresql"), sizes["api_seconds"])
        results.update(run_stack(folder / "stack", redis_server.url, redis_server.port, sizes,
                                 args.only))
    finally:
        redis_server.stop()
    report.show(results)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pipeline-{'smoke' if args.smoke else 'full'}.json").write_text(json.dumps(results, indent=2))
    problems = report.problems(results)
    if problems:
        sys.exit("; ".join(problems))


if __name__ == "__main__":
    main()
