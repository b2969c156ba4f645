"""Scenario 6, scale-out: the stack grown past one machine, as DESIGN.md §7 grows it.

Two sets of every process the Procfile starts (web apps, relays, consumer, Celery worker,
sweeper, timers), as on two machines: separate processes, each set with its own DATA_DIR
and name (its consumer's in the bus group, its worker's node name), sharing one Redis and
the PostgreSQL databases. Registrations are POSTed to both sets' registration services in
turn.

1. The burst of registrations and the follower fan-out of the single set again: emails
   per second, read beside the single set's on PostgreSQL in the same run.
2. Both at once, and mid-run a SIGKILL to set a's consumer while it holds entries it has
   read and not acknowledged, and to set b's Celery worker (its pool with it) once a fifth
   of the emails are in. The consumer comes back a second after its kill under its name,
   as compose's `restart: unless-stopped` brings it back, and reads what it held first
   (left alone, the other set's consumer would claim it after RECLAIM_IDLE_MS, in one to
   two minutes). The worker stays dead: set a's worker sends the rest, and what it had
   claimed is called stuck by the sweepers after DELIVERY_STALE_AFTER (here
   KILLED_STALE_AFTER, not production's two minutes) and sent. Every email must arrive
   exactly once.
"""
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import redis
from sqlalchemy import func, select

from bench import scenarios
from bench.api_load import web_settings
from bench.harness import BENCH_ENV, environment, fresh_databases, servers, smtp_limit, spent
from bench.processes import Watch
from services.notifications.models import Delivery
from services.notifications.pipeline.consumer import GROUP, STREAMS
from shared.devstack import Stack, wait_until

SETS = ("a", "b")
KILLED_STALE_AFTER = 10  # seconds: the kill's emails are retried within a sweep or two of this
RESTART_AFTER = 1  # seconds a killed consumer stays down
# Those that read DELIVERY_STALE_AFTER: the lease of a new delivery, a task's time limits,
# when a delivery is called stuck.
STALE_READERS = ("consumer", "worker", "sweeper")


def run(folder, sizes):
    """The scale-out's figures: burst, fan_out, killed (what the kills left and how it
    ended), cpu_s and rss_mb of every process of both sets."""
    with environment(folder) as (redis_server, inbox, smtp_port), \
            fresh_databases("postgresql", folder) as urls:
        sets = []
        for name in SETS:
            (folder / name).mkdir()
            sets.append(Stack(folder / name, redis_server.url, smtp_port, urls, web_workers=None,
                              name=f"bench-{name}"))
            sets[-1].env.update({**BENCH_ENV, **web_settings("postgresql")})  # as compose runs
        results, cpu = {"sets": len(sets)}, {}
        watch = Watch(lambda: {f"{name} {process}": running.pid
                               for name, stack in zip(SETS, sets)
                               for process, running in stack.processes.items()},
                      servers=servers(redis_server, urls))
        try:
            start(sets)
            watch.start()
            first = sets[0]
            organiser = scenarios.bearer(first, "registration", "events:write")
            writer = scenarios.bearer(first, "commitments", "commitments:write")
            event = scenarios.new_event(first, organiser)
            for name, run_one in (
                    ("burst", lambda: scenarios.registrations_to_emails(
                        sets, inbox, event["id"], sizes["registrations"], None, "scaled-burst")),
                    ("fan_out", lambda: scenarios.milestone_to_alerts(
                        first, inbox, writer, sizes["followers"], "scaled-follower"))):
                before, own_before = watch.cpu(), time.process_time()
                results[name] = run_one()
                cpu[name] = spent(watch, before, own_before)
                results[name].update(smtp_limit(inbox, smtp_port, sizes))
            restart(sets, {"DELIVERY_STALE_AFTER": str(KILLED_STALE_AFTER)})
            before, own_before = watch.cpu(), time.process_time()
            results["killed"] = killed_mid_run(sets, redis_server.url, inbox, organiser, writer,
                                               sizes)
            cpu["killed"] = spent(watch, before, own_before)
            watch.stop()
            results["cpu_s"], results["rss_mb"] = cpu, watch.peak_rss()
        finally:
            for stack in sets:
                stack.stop_all()
    return results


def restart(sets, settings):
    """The processes that read these settings, in every set, again with them."""
    for stack in sets:
        stack.env.update(settings)
        for name in STALE_READERS:
            stack.kill(name, signal.SIGTERM, group=True)
            stack.start(name)
    for stack in sets:
        stack.wait_for_worker()


def start(sets):
    """Every process of every set, ready: the web apps answer, the workers take tasks."""
    for stack in sets:
        stack.start_all()
    for stack in sets:
        stack.wait_for_worker()


def killed_mid_run(sets, redis_url, inbox, organiser, writer, sizes):
    """Registrations and a fan-out at once; set a's consumer and set b's worker SIGKILLed
    mid-run. Returns what was held at each kill and how every email ended."""
    a, b = sets
    event = scenarios.new_event(a, organiser, "Caída")
    milestone_id, commitment_id = scenarios.new_milestone(a, writer)
    followers = [f"killed-follower-{i}@bench.example" for i in range(sizes["killed_followers"])]
    scenarios.add_followers(a, commitment_id, followers)
    registrants = [f"killed-burst-{i}@bench.example"
                   for i in range(sizes["killed_registrations"])]
    everyone = followers + registrants
    bus = redis.Redis.from_url(redis_url)
    began = time.monotonic()
    scenarios.change_milestone(a, writer, milestone_id)
    with ThreadPoolExecutor(1) as background:  # its result() raises what the POSTs raised
        posting = background.submit(scenarios.register_all, sets, event["id"], registrants, 16)
        held = wait_until(lambda: unacknowledged(bus, a.name), 60, interval=0.002,
                          what="set a's consumer to hold entries")
        a.kill("consumer", signal.SIGKILL, group=True)
        still_held = unacknowledged(bus, a.name)  # what it had read, now nobody's
        time.sleep(RESTART_AFTER)
        a.start("consumer")
        wait_until(lambda: _arrived(inbox, everyone) >= len(everyone) // 5,
                   scenarios.ARRIVAL_TIMEOUT, what="a fifth of the emails")
        b.kill("worker", signal.SIGKILL, group=True)
        arrived_at_kill = _arrived(inbox, everyone)
        posting.result()
    found = inbox.wait_for(everyone, timeout=scenarios.ARRIVAL_TIMEOUT)
    last = max(times[0] for times in found.values())
    return {"registrations": len(registrants), "followers": len(followers),
            "consumer_held_at_kill": held, "consumer_held_after_kill": still_held,
            "arrived_at_worker_kill": arrived_at_kill,
            "last_email_after_s": round(last - began, 2),
            **scenarios.once_each(a, inbox, everyone),
            "retried_after_worker_lost": _worker_lost(a)}


def unacknowledged(bus, consumer):
    """Entries `consumer` has read from the producers' streams and not acknowledged."""
    held = 0
    for stream in STREAMS:
        for entry in bus.xpending(stream, GROUP)["consumers"]:
            if entry["name"].decode() == consumer:
                held += entry["pending"]
    return held


def _arrived(inbox, addresses):
    return sum(address in inbox.times for address in addresses)


def _worker_lost(stack):
    """Deliveries the sweepers found stuck in flight (their worker killed) and sent again."""
    with scenarios.database(stack, "NOTIFICATIONS") as connection:
        return connection.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.last_error.like("worker lost%")))
