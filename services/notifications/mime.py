"""Assembling one email from its finished parts: headers, text, HTML and an optional invite.

Built with the email package's classic (compat32) classes: the default policy's header
objects cost more than the rest of an email put together (`make bench`).
"""
import email.encoders
import email.utils
import uuid
from datetime import datetime, timezone
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32

# Quoted-printable keeps the bodies 7-bit safe for any relay, yet readable raw; headers
# take base64 (RFC 2047 "B"), which the stdlib encodes far faster than "Q".
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_UTF8_B64 = Charset("utf-8")
_UTF8_B64.header_encoding = BASE64


class _Policy(Compat32):
    """The classic policy, except that an ASCII header is written on one line (up to RFC
    5322's 998 characters), as the default policy would: compat32 folds a long URL onto a
    line of its own, which some parsers read back with a leading space."""

    def fold(self, name, value):
        if _fits_one_line(name, value):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if _fits_one_line(name, value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


def _fits_one_line(name, value):
    return (isinstance(value, str) and value.isascii() and "\n" not in value
            and len(name) + len(value) + 2 <= 998)


POLICY = _Policy()


def message(*, subject, mail_from, to, message_id, headers, text, html, invite=None):
    """multipart/mixed[alternative[text, html], invite?]; `to` is (name, address) and
    `invite` (ics bytes, method, file name) a calendar attachment."""
    outer = MIMEMultipart("mixed", boundary=_boundary(), policy=POLICY)
    outer["Subject"] = _header(one_line(subject))
    outer["From"] = _address(*email.utils.parseaddr(mail_from))
    outer["To"] = _address(*to)
    outer["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    outer["Message-ID"] = message_id
    outer["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        outer[name] = one_line(value)
    body = MIMEMultipart("alternative", boundary=_boundary())
    body.attach(MIMEText(text, "plain", _UTF8_QP))
    body.attach(MIMEText(html, "html", _UTF8_QP))
    outer.attach(body)
    if invite:
        outer.attach(_calendar(*invite))
    return outer


def _calendar(ics, method, filename):
    part = MIMEApplication(ics, "calendar", email.encoders.encode_base64)
    part.set_type("text/calendar")
    part.set_param("method", method)
    part.set_param("charset", "utf-8")
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def one_line(value):
    # Header values may not contain line breaks; collapse any whitespace run to one space.
    return " ".join(str(value).split())


def _address(name, addr_spec):
    """A From/To value; a non-ASCII name is RFC 2047-encoded, so headers stay ASCII."""
    return email.utils.formataddr((name, addr_spec), charset=_UTF8_B64)


def _header(value):
    return value if value.isascii() else Header(value, _UTF8_B64)


def _boundary():
    # Random enough never to occur in a body, so the generator need not search for it.
    return f"=_abierto_{uuid.uuid4().hex}"
