"""A third reference for the registration API: the least a registration can cost here.

Our own rules and contract, on the thinnest stack the mission allows: the per-address limit
shared through Redis (shared.ratelimit), the body checked and the receipt dumped by our
marshmallow schemas, the event locked (BEGIN IMMEDIATE), the registration inserted, the
seat counted, the fact built and validated against the catalogue and written to the outbox,
one commit. What is left out is what the project chose over hand-written code: flask-smorest
(routing, parsing, the OpenAPI document) and SQLAlchemy (raw sqlite3 instead), and every
path but a new registration's. Only for bench/api_skeleton.py, on a database migrated for
the registration service with one open event; FLOOR_RATE_LIMIT=off leaves the limit out.

    FLOOR_DATABASE_URL=sqlite:///x.db REDIS_URL=redis://127.0.0.1:6379/0 \
        gunicorn 'bench.floor_app:create_app()'
"""
import json
import os
import sqlite3
from datetime import datetime, timezone
from types import SimpleNamespace

from flask import Flask, jsonify, request

from bench import bare_app
from services.registration import domain
from services.registration.facts import Links, registration_fact
from services.registration.schemas import RegistrationReceiptSchema, RegistrationSchema
from shared import envelope
from shared.ratelimit import PublicRateLimit
from shared.schemas import normalize_email
from shared.signing import Keys

ADD_REGISTRATION = (
    "INSERT INTO registrations (event_id, name, email, email_key, organization, sector, "
    "accessibility_needs, language, status, privacy_consent_at, queued_at, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (event_id, email_key) DO NOTHING RETURNING id")
ADD_FACT = "INSERT INTO outbox (cloudevent_id, cloudevent_type, payload, created_at) VALUES (?, ?, ?, ?)"
TIMES = ("starts_at", "ends_at", "registration_closes_at", "created_at", "updated_at")


def stored(moment):
    """A UTC datetime as SQLAlchemy's DateTime writes it in SQLite."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def loaded_event(row):
    event = SimpleNamespace(**dict(row))
    for name in TIMES:
        value = getattr(event, name)
        if value is not None:
            setattr(event, name, datetime.fromisoformat(value).replace(tzinfo=timezone.utc))
    event.related_commitments = json.loads(event.related_commitments)
    return event


def create_app():
    app = Flask(__name__)
    # bare Flask's own connections: autocommit, so BEGIN IMMEDIATE is ours, and our pragmas
    thread_connection, _ = bare_app.per_thread(os.environ["FLOOR_DATABASE_URL"])
    limit = None
    if os.environ.get("FLOOR_RATE_LIMIT") != "off":
        limit = PublicRateLimit(os.environ["REDIS_URL"], os.environ["PUBLIC_RATE_LIMIT"], "register")
    body_schema, receipt_schema = RegistrationSchema(), RegistrationReceiptSchema()
    links = Links(os.environ["REGISTRATION_PUBLIC_BASE_URL"], Keys(os.environ["SECRET_KEY"]))

    @app.post("/api/v1/events/<int:event_id>/registrations")
    def register(event_id):
        if limit is not None and limit.retry_after(request.remote_addr) is not None:
            return jsonify(title="Too many requests"), 429
        fields = body_schema.load(request.get_json())
        now = datetime.now(timezone.utc)
        connection = thread_connection()
        connection.row_factory = sqlite3.Row
        connection.execute("BEGIN IMMEDIATE")
        try:
            event = loaded_event(connection.execute(
                "SELECT * FROM events WHERE id = ?", (event_id,)).fetchone())
            registration = SimpleNamespace(id=None, invite_sequence=0, **fields)
            seats_before = event.confirmed_count
            fact_type = domain.register(event, registration, now)
            (registration.id,) = connection.execute(ADD_REGISTRATION, (
                event_id, fields["name"], fields["email"], normalize_email(fields["email"]),
                fields["organization"], fields["sector"], fields["accessibility_needs"],
                fields["language"], registration.status, stored(now), stored(now), stored(now),
                stored(now))).fetchone()
            if event.confirmed_count != seats_before:  # none counted without a capacity
                connection.execute("UPDATE events SET confirmed_count = ? WHERE id = ?",
                                   (event.confirmed_count, event_id))
            fact = registration_fact(fact_type, registration, event, links, now)
            connection.execute(ADD_FACT, (fact["id"], fact["type"], envelope.dumps(fact), stored(now)))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        receipt = {"id": registration.id, "event_id": event_id, "status": registration.status,
                   "created_at": now}
        return jsonify(receipt_schema.dump(receipt)), 201

    @app.get("/readyz")
    def readyz():
        return jsonify(status="ok")

    return app
