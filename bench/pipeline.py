"""Benchmark: how fast a registration becomes an email and a milestone becomes alerts,
on SQLite and on PostgreSQL, with one set of the stack's processes and with two, beside
what this machine itself can do, measured in the same run.

1. Registration API under wrk (16 and 64 clients), SQLite and PostgreSQL, against a bare
   Flask endpoint that inserts one row and, on SQLite, our rules on the thinnest stack
   (bench/floor_app.py), under the same gunicorn settings (bench/api_load.py).
2. Registration -> confirmation email, end to end: 1,000 registrations as fast as the API
   takes them, then at a steady 50 a second.
3. Milestone -> alerts: 10,000 confirmed followers, one change.
4. Limits: the SMTP server's rate over one reused connection, Redis XADD, bare Flask.
5. Event -> reminders: 5,000 confirmed attendees, one reminder falls due.
6. Scale-out (bench/scale_out.py): two sets of the processes sharing Redis and PostgreSQL,
   the burst and the fan-out again, then both at once with one consumer and one worker
   SIGKILLed mid-run.

Scenarios 2, 3 and 5 run the real local stack (gunicorn at its default workers, relays,
consumer, Celery worker, sweeper, timers) once per backend, each time on fresh databases
(PostgreSQL ones created and dropped here), its own redis-server and an SMTP server that
records when each message arrived. Prints a table and writes it as JSON to bench/results/.
A lost email fails the run (it never arrives), and so does one that arrives twice.

    .venv/bin/python bench/pipeline.py            # the full run (a quarter of an hour)
    .venv/bin/python bench/pipeline.py --smoke    # a few minutes; fails unless every email arrives once
    .venv/bin/python bench/pipeline.py --only reminders,fan_out --backends postgresql
"""
import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import report, scale_out, scenarios  # noqa: E402
from bench.api_load import web_settings  # noqa: E402
from bench.harness import (BACKENDS, BENCH_ENV, environment, fresh_databases,  # noqa: E402
                           redis_limits, servers, smtp_limit, spent)
from bench.processes import Watch  # noqa: E402
from shared.devstack import RedisServer, Stack  # noqa: E402

FULL = {"registrations": 1000, "followers": 10_000, "attendees": 5000, "api_seconds": 30,
        "smtp_limit_n": 2000, "killed_registrations": 1000, "killed_followers": 10_000}
SMOKE = {"registrations": 40, "followers": 200, "attendees": 200, "api_seconds": 1,
         "smtp_limit_n": 200, "killed_registrations": 200, "killed_followers": 1000}


def run_stack(folder, backend, sizes, only=None):
    """Scenarios 2, 3 and 5 (or those named in `only`) and the SMTP/Redis limits, on one
    set of the stack on fresh databases of `backend`; returns their figures."""
    with environment(folder) as (redis_server, inbox, smtp_port), \
            fresh_databases(backend, folder) as urls:
        stack = Stack(folder, redis_server.url, smtp_port, urls, web_workers=None)
        stack.env.update({**BENCH_ENV, **web_settings(backend)})  # as compose runs PostgreSQL
        results = {}
        try:
            stack.start_all()
            stack.wait_for_worker()
            watch = Watch(lambda: {name: p.pid for name, p in stack.processes.items()},
                          servers=servers(redis_server, urls)).start()
            results["limits"] = redis_limits(redis_server, sizes)
            organiser = scenarios.bearer(stack, "registration", "events:write")
            event = scenarios.new_event(stack, organiser)
            writer = scenarios.bearer(stack, "commitments", "commitments:write")
            n, cpu = sizes["registrations"], {}
            for name, run in (
                    ("burst", lambda: scenarios.registrations_to_emails(
                        [stack], inbox, event["id"], n, None, "burst")),
                    ("steady_50", lambda: scenarios.registrations_to_emails(
                        [stack], inbox, event["id"], n, 50, "steady")),
                    ("fan_out", lambda: scenarios.milestone_to_alerts(
                        stack, inbox, writer, sizes["followers"])),
                    ("reminders", lambda: scenarios.event_to_reminders(
                        stack, inbox, organiser, sizes["attendees"]))):
                if only and name not in only:
                    continue
                before, own_before = watch.cpu(), time.process_time()
                results[name] = run()
                cpu[name] = spent(watch, before, own_before)
                # The machine's pace drifts over minutes (a shared host): each scenario gets
                # the SMTP limit measured right after it, with the last of its own emails.
                results[name].update(smtp_limit(inbox, smtp_port, sizes))
            watch.stop()
            results["cpu_s"], results["rss_mb"] = cpu, watch.peak_rss()
        finally:
            stack.stop_all()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, for CI")
    parser.add_argument("--skip-api", action="store_true", help="no API scenario (1)")
    parser.add_argument("--only", type=lambda text: text.split(","), metavar="NAME,...",
                        help=f"these of {', '.join(report.SCENARIOS)} alone (no API scenario)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated; the scale-out runs on postgresql only")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    if set(backends) - set(BACKENDS):
        parser.error(f"--backends takes {', '.join(BACKENDS)}")
    if args.only and set(args.only) - set(report.SCENARIOS):
        parser.error(f"--only takes {', '.join(report.SCENARIOS)}")
    if args.only == ["scale_out"] and "postgresql" not in backends:
        parser.error("the scale-out runs on postgresql: two machines share no SQLite file")
    sizes = SMOKE if args.smoke else FULL
    folder = Path(tempfile.mkdtemp(prefix="abierto-bench-"))
    results = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "smoke": args.smoke, "cores": os.cpu_count(), "backends": {}}
    if not (args.skip_api or args.only):
        from bench import api_load
        redis_server = RedisServer(folder, fsync="everysec")  # as compose runs it
        redis_server.start()
        try:
            results["api"] = api_load.measure(folder / "api", redis_server.url,
                                              tuple(backends), sizes["api_seconds"])
        finally:
            redis_server.stop()
    single = [name for name in report.SINGLE_SET if not args.only or name in args.only]
    for backend in backends if single else ():
        results["backends"][backend] = run_stack(folder / backend, backend, sizes, args.only)
    if "postgresql" in backends and (not args.only or "scale_out" in args.only):
        results["scale_out"] = scale_out.run(folder / "scale-out", sizes)
    report.show(results)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pipeline-{'smoke' if args.smoke else 'full'}.json").write_text(json.dumps(results, indent=2))
    problems = report.problems(results)
    if problems:
        sys.exit("; ".join(problems))


if __name__ == "__main__":
    main()
