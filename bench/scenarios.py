"""The end-to-end scenarios, each run against a started stack (or several sets of one
sharing Redis and the databases) and the benchmark's SMTP server (bench/sink.py).

Each returns its figures, and how many emails arrived more than once: `duplicates` (a
fault of the stack) and `repeated_after_cut` (the message the server took in the instant
its sender was killed; see bench/sink.py). An email that never arrives fails the run.
"""
import http.client
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import requests
from sqlalchemy import create_engine, func, insert, select

from services.notifications.models import Delivery, Subscription
from services.notifications.pipeline.deliveries import INFLIGHT, SENDABLE
from services.registration.models import Registration
from shared.db import utcnow
from shared.devstack import wait_until

REMINDER_LEAD = 3  # seconds from the PATCH that sets a reminder to its falling due
ARRIVAL_TIMEOUT = 900  # seconds: far beyond any run; only a lost email comes near it
_PLANS = itertools.count(1)  # each milestone in its own action plan: a plan's ordinal is unique


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def register_all(stacks, event_id, addresses, clients, per_second=None):
    """POST one registration per address, in turn to each set's registration service;
    return {address: monotonic time of its POST}.

    Plain http.client, not requests: the clients share the machine with the stack, and
    requests cost about three times the CPU per POST. Each client thread keeps its
    connection to each set between POSTs, as the issue's side-by-side measurement did and
    as a proxy's pooled connections would: compose's gthread workers keep it alive, and
    `make run`'s sync worker closes it after each answer (http.client then opens another).
    """
    path = f"/api/v1/events/{event_id}/registrations"
    ports, posted, kept = [stack.ports["registration"] for stack in stacks], {}, {}

    def one(index_address):
        index, address = index_address
        body = json.dumps({"name": "Bench", "email": address, "sector": "citizen",
                           "privacy_consent": True})
        if per_second:
            time.sleep(max(0.0, start + index / per_second - time.monotonic()))
        posted[address] = time.monotonic()
        status, answer = _post(kept, (threading.get_ident(), ports[index % len(ports)]), path, body)
        assert status == 202, answer  # the anonymous answer

    start = time.monotonic()
    try:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, enumerate(addresses)))
    finally:
        for connection in kept.values():
            connection.close()
    return posted


def _post(connections, key, path, body):
    """(status, body) of one POST on the connection kept under `key` (a thread and a port).
    One the server had closed meanwhile (its keep-alive timeout) is opened again, once: the
    request never reached the application."""
    for last_try in (False, True):
        connection = connections.get(key)
        if connection is None:
            connection = connections[key] = http.client.HTTPConnection("127.0.0.1", key[1], timeout=30)
        reused = connection.sock is not None
        try:
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            del connections[key]
            if last_try or not reused:
                raise


def registrations_to_emails(stacks, inbox, event_id, n, per_second, tag):
    """Scenario 2: each registration's POST to its confirmation's arrival."""
    addresses = [f"{tag}-{i}@bench.example" for i in range(n)]
    posted = register_all(stacks, event_id, addresses, 16, per_second)
    found = inbox.wait_for(addresses, timeout=ARRIVAL_TIMEOUT)
    latencies = [found[a][0] - posted[a] for a in addresses]
    span = max(times[0] for times in found.values()) - min(posted.values())
    return {
        "registrations": n, "clients": 16, "target_per_second": per_second,
        "p50_s": round(percentile(latencies, 50), 3), "p95_s": round(percentile(latencies, 95), 3),
        "p99_s": round(percentile(latencies, 99), 3), "last_email_after_s": round(span, 2),
        "emails_per_second": round(n / span, 1), "stages_p50_ms": stages(stacks[0], posted, found),
        **once_each(stacks[0], inbox, addresses),
    }


def stages(stack, posted, found):
    """Where the emails waited, p50 ms of each step: the POST to its registration's row
    (`created_at`, the API), to its delivery's row (the consumer), to the send (`sent_at`,
    the worker; on PostgreSQL stamped just before the SMTP conversation, on SQLite just
    after), to its arrival at the SMTP server. The rows' times are the writers' clocks, on
    this machine as the benchmark's own."""
    offset = time.time() - time.monotonic()  # the POSTs and arrivals are monotonic times
    with database(stack, "REGISTRATION") as registrations, database(stack, "NOTIFICATIONS") as deliveries:
        registered = dict(registrations.execute(select(Registration.email, Registration.created_at)
                                                .where(Registration.email.in_(list(posted)))).all())
        delivered = {row.recipient: row for row in deliveries.execute(
            select(Delivery.recipient, Delivery.created_at, Delivery.sent_at)
            .where(Delivery.recipient.in_(list(posted)), Delivery.kind != "webhook"))}
    steps = {"post_to_row": [], "row_to_delivery": [], "delivery_to_send": [], "send_to_arrival": []}
    for address, at in posted.items():
        times = [at + offset, registered[address].timestamp(), delivered[address].created_at.timestamp(),
                 delivered[address].sent_at.timestamp(), found[address][0] + offset]
        for step, (start, end) in zip(steps, itertools.pairwise(times)):
            steps[step].append(end - start)
    return {step: round(percentile(waits, 50) * 1000) for step, waits in steps.items()}


@contextmanager
def database(stack, service):
    """A connection to `service`'s database in one transaction, committed at the end: the
    benchmark's own setup and read-backs, outside the stack's processes."""
    engine = create_engine(stack.env[f"{service}_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def add_followers(stack, commitment_id, addresses):
    """Confirmed followers of a commitment, written to the database: setup, not measured."""
    with database(stack, "NOTIFICATIONS") as connection:
        connection.execute(insert(Subscription), [
            {"email": a, "email_key": a, "topic": f"commitment:{commitment_id}", "language": "es",
             "status": "confirmed", "created_at": utcnow(), "confirmed_at": utcnow()}
            for a in addresses])


def milestone_to_alerts(stack, inbox, writer, n, tag="follower"):
    """Scenario 3: n confirmed followers of one commitment, one milestone change."""
    milestone_id, commitment_id = new_milestone(stack, writer)
    followers = [f"{tag}-{i}@bench.example" for i in range(n)]
    add_followers(stack, commitment_id, followers)
    start = time.monotonic()
    change_milestone(stack, writer, milestone_id)
    found = inbox.wait_for(followers, timeout=ARRIVAL_TIMEOUT)
    span = max(times[0] for times in found.values()) - start
    return {"followers": n, "last_email_after_s": round(span, 2),
            "emails_per_second": round(n / span, 1), **once_each(stack, inbox, followers)}


def change_milestone(stack, writer, milestone_id):
    call(stack, "commitments", "patch", f"/api/v1/milestones/{milestone_id}", writer,
         {"status": "met", "progress_pct": 100, "justification": "Concluido"})


def event_to_reminders(stack, inbox, organiser, n):
    """Scenario 5: n confirmed attendees of one event, one reminder falls due; from its due
    time to the last reminder's arrival."""
    event = new_event(stack, organiser, "Recordatorios")
    attendees = [f"reminded-{i}@bench.example" for i in range(n)]
    with database(stack, "REGISTRATION") as connection:  # setup, not measured: the seats were taken long ago
        now = utcnow()
        connection.execute(insert(Registration), [
            {"event_id": event["id"], "name": "Bench", "email": a, "email_key": a,
             "sector": "citizen", "language": "es", "status": "confirmed",
             "privacy_consent_at": now, "queued_at": now, "created_at": now, "updated_at": now}
            for a in attendees])
    # The event moves to an hour and a few seconds from now, reminded an hour before: not a
    # change anyone is told of, and a reminder due in REMINDER_LEAD seconds.
    due = utcnow().replace(microsecond=0) + timedelta(seconds=REMINDER_LEAD)
    call(stack, "registration", "patch", f"/api/v1/events/{event['id']}", organiser, {
        "notify": False, "reminders": ["PT1H"], "starts_at": (due + timedelta(hours=1)).isoformat(),
        "ends_at": (due + timedelta(hours=2)).isoformat()})
    due_at = time.monotonic() + (due - utcnow()).total_seconds()
    found = inbox.wait_for(attendees, timeout=ARRIVAL_TIMEOUT)
    first, last = (f(times[0] for times in found.values()) for f in (min, max))
    span = last - due_at
    return {"attendees": n, "first_email_after_s": round(first - due_at, 2),
            "last_email_after_s": round(span, 2), "emails_per_second": round(n / span, 1),
            **once_each(stack, inbox, attendees)}


def once_each(stack, inbox, addresses):
    """How many of these emails came more than once, counted once the notifications
    database holds no delivery still to send or in flight: from then on none can come
    again, so no repeat is missed by counting too early."""
    settle(stack)
    duplicates, after_cut = inbox.repeats(addresses)
    return {"duplicates": duplicates, "repeated_after_cut": after_cut}


def settle(stack, timeout=ARRIVAL_TIMEOUT):
    engine = create_engine(stack.env["NOTIFICATIONS_DATABASE_URL"])
    unfinished = select(func.count()).select_from(Delivery).where(
        Delivery.state.in_((*SENDABLE, INFLIGHT)))
    try:
        wait_until(lambda: _scalar(engine, unfinished) == 0, timeout, interval=0.2,
                   what="every delivery to be done")
    finally:
        engine.dispose()


def _scalar(engine, query):
    with engine.connect() as connection:
        return connection.scalar(query)


def call(stack, service, method, path, headers, body):
    response = requests.request(method, stack.url(service, path), json=body, headers=headers,
                                timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def new_event(stack, organiser, title="Bench"):
    return call(stack, "registration", "post", "/api/v1/events", organiser, {
        "title": title, "starts_at": "2031-05-30T10:00:00-06:00",
        "ends_at": "2031-05-30T12:00:00-06:00", "timezone": "America/Chihuahua",
        "host_organization": "Bench"})


def new_milestone(stack, writer):
    plan = call(stack, "commitments", "post", "/api/v1/action-plans", writer, {
        "member": "Municipio de Benchmark", "ordinal": next(_PLANS),
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
