"""The mail sink: an aiosmtpd handler that stores each message it accepts as a .eml file."""
import itertools
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller


class Pipelining:
    """A handler whose server offers PIPELINING (RFC 2920), as production relays do.

    aiosmtpd already reads commands sent together one after another; it only never says so.
    """

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # this hook's duty, in aiosmtpd's contract
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


class MaildirHandler(Pipelining):
    """Accepts every message and writes it to `folder/<n>.eml`; `messages` keeps them in memory too."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        # after the highest number there, not the count: with a file deleted, a count would
        # land on a message already kept and overwrite it
        self._numbers = itertools.count(max(
            (int(path.stem) for path in self.folder.glob("*.eml") if path.stem.isdigit()),
            default=0) + 1)
        self._lock = threading.Lock()
        self.messages = []  # (arrival monotonic time, raw bytes): parsing waits for the reader

    async def handle_DATA(self, server, session, envelope):
        refusal = self.refuse(envelope)
        if refusal:
            return refusal
        with self._lock:
            number = next(self._numbers)
        raw = envelope.original_content or envelope.content
        (self.folder / f"{number:06d}.eml").write_bytes(raw)
        self.messages.append((time.monotonic(), raw))
        return "250 Message accepted for delivery"

    def refuse(self, envelope):
        """A reply code to refuse this message with, or None; tests override it."""
        return None


def serve(folder, host="127.0.0.1", port=8025, handler=None):
    """Start the SMTP server in a background thread and return its controller."""
    controller = Controller(handler or MaildirHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


def list_messages(folder):
    """(file name, date, to, subject) of each stored message, oldest first."""
    for path in sorted(Path(folder).glob("*.eml")):
        if not path.is_file():
            continue
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        yield path.name, message["Date"], message["To"], message["Subject"]
