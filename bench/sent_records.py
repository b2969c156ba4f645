"""What recording an email's `sent` costs on PostgreSQL, in process: CPU ms per record of
this process and of the server process it talks to, as a worker's task records its sends
(deliveries.held_connection, then deliveries.recording_sent around each send, here around
no send at all), on a fresh database. No SMTP, no Celery: `bench/pipeline.py --only
reminders` measures the whole path. Not part of `make bench`: a tool for working on the
record. Count its round trips with `strace -f -yy -e trace=sendto` (sends to :5432 at two
sizes, over the difference).

    .venv/bin/python bench/sent_records.py --records 2000 --rounds 5
"""
import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sqlalchemy import insert, update  # noqa: E402

from bench.harness import fresh_databases  # noqa: E402
from services.notifications.models import Delivery  # noqa: E402
from services.notifications.pipeline import deliveries  # noqa: E402
from shared.db import Database, utcnow  # noqa: E402


def server_cpu(pid):
    """CPU seconds so far of the server process `pid` (this host's PostgreSQL)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def claimed_rows(db, n):
    """n deliveries in flight, as a task's claim leaves them; their ids."""
    now = utcnow()
    with db.engine.begin() as connection:
        return [row.id for row in connection.execute(insert(Delivery).returning(Delivery.id), [
            {"idempotency_key": uuid.uuid4().hex, "kind": "reminder", "recipient": f"p{i}@x.example",
             "mailbox_key": f"p{i}@x.example", "cloudevent_id": str(uuid.uuid4()),
             "cloudevent_type": "registration.reminder_due", "subject": "s", "context": {},
             "message_id": f"<{i}@x.example>", "state": deliveries.INFLIGHT, "attempts": 1,
             "due_at": now, "state_changed_at": now, "created_at": now} for i in range(n)])]


def measure(db, ids):
    """(this process's, the server's) CPU ms per record of `ids`, on one held connection."""
    with deliveries.held_connection(db) as held:
        pid = held.connection.driver_connection.info.backend_pid
        server, own = server_cpu(pid), time.process_time()
        for delivery_id in ids:
            with deliveries.recording_sent(db, delivery_id, held):
                pass
        own, server = time.process_time() - own, server_cpu(pid) - server
    with db.engine.begin() as connection:  # in flight again, for the next round
        connection.execute(update(Delivery).values(state=deliveries.INFLIGHT))
    return own / len(ids) * 1000, server / len(ids) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, \
            fresh_databases("postgresql", Path(folder)) as urls:
        db = Database(urls["notifications"])
        try:
            ids = claimed_rows(db, args.records)
            print("CPU ms per record  this process  PostgreSQL's")
            for _ in range(args.rounds):
                own, server = measure(db, ids)
                print(f"{'':19}{own:12.3f}  {server:12.3f}")
        finally:
            db.dispose()


if __name__ == "__main__":
    main()
