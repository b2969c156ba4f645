"""The end-to-end harness: the real processes, a Redis server and an SMTP server the tests start.

Each backend (SQLite, PostgreSQL) gets one stack for the session: gunicorn for the three
services, both relays, the consumer, a Celery worker and the sweeper, as subprocesses
on free ports (shared.devstack, which `make bench` uses too), with short retry delays so
faults resolve in seconds. Tests use their own events and addresses, so they share the
stack; a test that breaks a part puts it back.
"""
import uuid
from email import message_from_bytes, policy

import icalendar
import requests

from services.mailsink.server import MaildirHandler, serve
from shared.devstack import free_port, wait_until

CHANGE_COALESCE = 2  # seconds the stack's event changes wait (2 minutes by default)


class Inbox(MaildirHandler):
    """The SMTP server's handler: keeps every message; can refuse addresses like a real server."""

    def __init__(self, folder):
        super().__init__(folder)
        self.refused = {}  # address prefix -> SMTP reply
        self._parsed = []  # (recipients, message), parsed here rather than in the server

    def parsed(self):
        for _, raw in self.messages[len(self._parsed):]:
            message = parse(raw)
            self._parsed.append(({a.addr_spec for a in message["To"].addresses}, message))
        return self._parsed

    def refuse(self, envelope):
        for prefix, reply in self.refused.items():
            if any(rcpt.startswith(prefix) for rcpt in envelope.rcpt_tos):
                return reply
        return None

    def count(self, addresses):
        """How many of `addresses` have received at least one message."""
        seen = set().union(*(to for to, _ in self.parsed()))
        return len(seen.intersection(addresses))

    def to(self, address):
        return [m for to, m in self.parsed() if address in to]

    def wait_for(self, addresses, timeout=60):
        """Wait until each address has at least one message; return {address: [messages]}."""
        addresses = list(addresses)
        wait_until(lambda: all(self.to(a) for a in addresses), timeout,
                   what=f"mail to {len(addresses)} address(es)")
        return {a: self.to(a) for a in addresses}


class SMTPServer:
    def __init__(self, folder):
        self.port, self.inbox, self.controller = free_port(), Inbox(folder), None

    def start(self):
        self.controller = serve(None, "127.0.0.1", self.port, handler=self.inbox)

    def stop(self):
        self.controller.stop()
        self.controller = None


def unique_addresses(n, tag="a"):
    run = uuid.uuid4().hex[:8]
    return [f"{tag}-{run}-{i}@example.org" for i in range(n)]


def register(stack, event_id, email, language="es", name="Asistente", headers=None,
             sector="citizen"):
    """POST a registration; anonymous (the one 202 answer) unless `headers` carry a
    registrations:write token (201/200 with the id and status)."""
    return requests.post(stack.url("registration", f"/api/v1/events/{event_id}/registrations"),
                         json={"name": name, "email": email, "sector": sector,
                               "language": language, "privacy_consent": True}, timeout=10,
                         headers=headers)


def deliveries(stack, operator, **query):
    """The notifications service's deliveries matching `query` (e.g. recipient=...)."""
    response = requests.get(stack.url("notifications", "/api/v1/deliveries"), params=query,
                            headers=operator, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def text(message):
    return message.get_body(("plain",)).get_content()


def invite(message):
    """The email's calendar invite, parsed by `icalendar`, or None."""
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(parts[0].get_content()) if parts else None


def link(message, path):
    """The first link in the email's text whose path starts with `path`."""
    return next(word.strip("<>().,") for word in text(message).split() if path in word)


def parse(raw):
    return message_from_bytes(raw, policy=policy.default)
