"""The benchmark's SMTP server: notes when each recipient's message came and on which
connection, and the server's own rate over one reused connection (the limit every email
figure is read against).

It counts arrivals per recipient, so a lost email (none) and a repeated one (two) both
show. SMTP has no idempotency key: a sender killed between the server's 250 and its own
record of the send sends that email again once it is retried. The server can tell that
case apart, as it is the only one where the first copy was the last message of a
connection that then ended without QUIT; any other repeat is a fault of the stack.
"""
import smtplib
import time
from collections import defaultdict

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from services.mailsink.server import Pipelining
from services.notifications.mail.mailer import send_pipelined
from shared.devstack import wait_until


class Arrivals(Pipelining):
    """An aiosmtpd handler that accepts everything and only notes when each recipient's
    message came: no parsing, no disk, so the server costs the stack as little as it can."""

    def __init__(self):
        self.times = defaultdict(list)
        self.latest = None  # the last message as it came over the wire
        self._last_taken = {}  # session -> [(recipient, arrival number)] of its last message
        self.cut = set()  # (recipient, arrival number) taken just before their sender died

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        for recipient in envelope.rcpt_tos:
            self.times[recipient].append(now)
        self._last_taken[session] = [(r, len(self.times[r]) - 1) for r in envelope.rcpt_tos]
        self.latest = envelope.original_content
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        self._last_taken.pop(session, None)  # a sender that says goodbye read every answer
        return "221 Bye"

    def connection_ended(self, session):
        """The connection closed without QUIT (its sender died, or dropped it): its last
        message may have been taken without the sender reading the 250."""
        self.cut.update(self._last_taken.pop(session, ()))

    def wait_for(self, addresses, timeout):
        """{address: [arrival times]} once each has one."""
        wait_until(lambda: all(a in self.times for a in addresses), timeout, interval=0.05,
                   what=f"{len(addresses)} emails")
        return {a: list(self.times[a]) for a in addresses}

    def repeats(self, addresses):
        """(repeats the stack caused, repeats of a message taken as its sender died)."""
        faults = after_cut = 0
        for address in addresses:
            extra = len(self.times[address]) - 1
            cut = sum((address, n) in self.cut for n in range(extra))
            after_cut += min(extra, cut)
            faults += extra - min(extra, cut)
        return faults, after_cut


class _NotingSMTP(SMTP):
    def connection_lost(self, error):
        self.event_handler.connection_ended(self.session)
        super().connection_lost(error)


class _Controller(Controller):
    def factory(self):
        return _NotingSMTP(self.handler, **self.SMTP_kwargs)


def serve(handler, port):
    """The server on 127.0.0.1:`port` in a background thread; returns its controller."""
    controller = _Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


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
