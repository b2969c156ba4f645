"""The only module that talks SMTP; it sorts failures into "try again" and "give up".

One connection per worker process is kept open and reused: it saves a handshake per
email, and it lets the task record "sent" right after the server's 250 — the shorter
that gap, the smaller the chance that a killed worker sends one email twice.
"""
import smtplib
import time

IDLE_CHECK_AFTER = 10.0  # seconds; servers drop idle clients, so check before reusing


class TransientMailError(Exception):
    """4xx or a connection problem: retry later."""


class PermanentMailError(Exception):
    """5xx: the server refused for good."""


class SMTPMailer:
    def __init__(self, settings):
        self.settings = settings
        self._smtp, self._last_used = None, 0.0

    def send(self, message):
        """Hand one message to the server; raise Transient/PermanentMailError on failure."""
        try:
            self._connection().send_message(message)
            self._last_used = time.monotonic()
        except smtplib.SMTPRecipientsRefused as error:
            self._reset()  # the session is mid-transaction; start clean next time
            codes = [code for code, _ in error.recipients.values()]
            raise _by_code(min(codes), f"recipient refused: {codes}") from error
        except smtplib.SMTPResponseException as error:
            self._close()
            raise _by_code(error.smtp_code, f"{error.smtp_code} {_text(error.smtp_error)}") from error
        except (OSError, smtplib.SMTPException) as error:
            self._close()
            raise TransientMailError(f"{type(error).__name__}: {error}") from error

    def _connection(self):
        if self._smtp is not None and time.monotonic() - self._last_used > IDLE_CHECK_AFTER:
            try:
                self._smtp.noop()  # no side effects: safe to find out the connection died
            except (OSError, smtplib.SMTPException):
                self._close()
        if self._smtp is None:
            s = self.settings
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            self._smtp = smtp
        return self._smtp

    def _reset(self):
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException, AttributeError):
            self._close()

    def _close(self):
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None


def _by_code(code, text):
    return PermanentMailError(text) if 500 <= code < 600 else TransientMailError(text)


def _text(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
