"""The only module that talks SMTP; it sorts failures into "try again" and "give up"."""
import smtplib


class TransientMailError(Exception):
    """4xx or a connection problem: retry later."""


class PermanentMailError(Exception):
    """5xx: the server refused for good."""


class SMTPMailer:
    def __init__(self, settings):
        self.settings = settings

    def send(self, message):
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise _by_code(min(codes), f"recipient refused: {codes}") from error
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, f"{error.smtp_code} {_text(error.smtp_error)}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise TransientMailError(f"{type(error).__name__}: {error}") from error


def _by_code(code, text):
    return PermanentMailError(text) if 500 <= code < 600 else TransientMailError(text)


def _text(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
