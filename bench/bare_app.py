"""The machine's own limit for the registration benchmark: Flask with nothing of ours.

One POST endpoint reads the JSON body, inserts one row and answers 201 with JSON; no schema,
rate limit, ORM or outbox. It runs under the same gunicorn settings as the registration
service (bench/api_load.py), so the gap between the two is what our code costs.

    BARE_DATABASE_URL=sqlite:///x.db gunicorn 'bench.bare_app:create_app()'
"""
import os
import sqlite3
import threading

import psycopg
from flask import Flask, jsonify, request

INSERT = "INSERT INTO bare_registration (event_id, name, email, sector) VALUES ({0}, {0}, {0}, {0}) RETURNING id"


def connect(url):
    """A connection in autocommit (one INSERT is one transaction) and its placeholder."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1], timeout=30, isolation_level=None)
        # the pragmas shared/db.py gives our services
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection, "?"
    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True), "%s"


def prepare(url):
    """Create the table once, before gunicorn starts (workers would race to create it)."""
    connection, _ = connect(url)
    key = "integer PRIMARY KEY" if url.startswith("sqlite") else "serial PRIMARY KEY"
    connection.execute(f"CREATE TABLE IF NOT EXISTS bare_registration (id {key}, "
                       "event_id integer NOT NULL, name text NOT NULL, email text NOT NULL, "
                       "sector text NOT NULL, created_at timestamp DEFAULT CURRENT_TIMESTAMP)")
    connection.close()


def per_thread(url):
    """(this thread's connection, made on its first call; the placeholder): gunicorn calls
    create_app once per worker process, and a gthread worker (WEB_THREADS) runs requests
    in several threads, each with a connection of its own, as our pools give them."""
    kept = threading.local()

    def connection():
        if not hasattr(kept, "connection"):
            kept.connection, _ = connect(url)
        return kept.connection

    return connection, "?" if url.startswith("sqlite") else "%s"


def create_app():
    app = Flask(__name__)
    connection, mark = per_thread(os.environ["BARE_DATABASE_URL"])
    insert = INSERT.format(mark)

    @app.post("/api/v1/events/<int:event_id>/registrations")
    def register(event_id):
        body = request.get_json()
        # fetchall() runs the statement to its end, so SQLite commits before we answer
        [(row_id,)] = connection().execute(
            insert, (event_id, body["name"], body["email"], body["sector"])).fetchall()
        return jsonify(id=row_id, event_id=event_id, status="confirmed"), 201

    @app.get("/readyz")
    def readyz():
        return jsonify(status="ok")

    return app
