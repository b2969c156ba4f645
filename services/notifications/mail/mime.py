"""Assembling one email from its finished parts: headers, text, HTML (with the images it
shows) and an optional invite.

Built with the email package's classic (compat32) classes: the default policy's header
objects cost more than the rest of an email put together (`make bench`).
"""
import base64
import binascii
import functools
import email.utils
import uuid
from datetime import datetime, timezone
from email.charset import BASE64, Charset
from email.header import Header
from email.message import Message
from email.policy import Compat32, compat32

# Headers take base64 (RFC 2047 "B"), which the stdlib encodes far faster than "Q".
_UTF8_B64 = Charset("utf-8")
_UTF8_B64.header_encoding = BASE64


class _Policy(Compat32):
    """The classic policy, except that an ASCII header is written as it is given: on one
    line (up to RFC 5322's 998 characters), as the default policy would, or as folded by
    `_header`. compat32 folds a long URL onto a line of its own, which some parsers read
    back with a leading space."""

    def fold(self, name, value):
        if _written_as_is(name, value):
            return self._as_is(name, value)
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if _written_as_is(name, value):
            return self._as_is(name, value).encode("ascii")
        return super().fold_binary(name, value)

    def _as_is(self, name, value):
        value = value.replace("\n", self.linesep) if "\n" in value else value
        return f"{name}: {value}{self.linesep}"


def _written_as_is(name, value):
    if not (isinstance(value, str) and value.isascii()):
        return False
    if "\n" not in value:
        return len(name) + len(value) + 2 <= 998
    first, *folded = value.split("\n")
    return (len(name) + len(first) + 2 <= 998
            and all(line[:1] == " " and len(line) <= 998 for line in folded))


POLICY = _Policy()


def message(*, subject, mail_from, to, message_id, headers, text, html, invite=None, inline=()):
    """multipart/mixed[alternative[text, html or related[html, images]], invite?]; `to` is
    (name, address), `invite` (ics bytes, method, file name) a calendar attachment and
    `inline` [(bytes, image subtype, Content-ID, file name)] the images the HTML shows."""
    outer = _multipart("mixed", policy=POLICY)
    outer["Subject"] = _header(one_line(subject))
    outer["From"] = _from(mail_from)
    outer["To"] = _address(*to)
    outer["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    outer["Message-ID"] = message_id
    outer["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        outer[name] = one_line(value)
    body = _multipart("alternative")
    body.attach(_text(text, "plain"))
    body.attach(_with_images(_text(html, "html"), inline))
    outer.attach(body)
    if invite:
        outer.attach(_calendar(*invite))
    return outer


# The parts are made as the email.mime classes make them, header for header in the same
# order, but with each Content-Type written whole: those classes parse it again for every
# parameter they add (set_boundary, set_param, set_type), a third of building an email.
# Every parameter value written here is a token of ours, ASCII and free of quotes.

def _part(*headers, policy=compat32):
    part = Message(policy)
    for name, value in headers:
        part[name] = value
    return part


def _multipart(subtype, policy=compat32):
    return _part(("Content-Type", f'multipart/{subtype}; boundary="{_boundary()}"'),
                 _MIME_VERSION, policy=policy)


_MIME_VERSION = ("MIME-Version", "1.0")


def _text(body, subtype):
    """A UTF-8 text part in quoted-printable: 7-bit safe for any relay, yet readable raw.

    Encoded by binascii's C codec: the email package's own (a str.translate over a
    256-entry map) cost as much as the rest of an alert."""
    part = _part(("Content-Type", f'text/{subtype}; charset="utf-8"'), _MIME_VERSION,
                 ("Content-Transfer-Encoding", "quoted-printable"))
    part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _with_images(html, images):
    """The HTML part, or multipart/related with the images it refers to by "cid:" (RFC 2387)."""
    if not images:
        return html
    related = _part(_MIME_VERSION, ("Content-Type", f'multipart/related; boundary="{_boundary()}"'
                                                    '; type="text/html"'))
    related.attach(html)
    for content, subtype, content_id, filename in images:
        part = _part(("Content-Type", f"image/{subtype}"), _MIME_VERSION,
                     ("Content-Transfer-Encoding", "base64"), ("Content-ID", f"<{content_id}>"))
        part.set_payload(_base64(content))
        named = {"filename": filename} if filename else {}
        part.add_header("Content-Disposition", "inline", **named)
        related.attach(part)
    return related


def _calendar(ics, method, filename):
    part = _part(("Content-Transfer-Encoding", "base64"), _MIME_VERSION,
                 ("Content-Type", f'text/calendar; method="{method}"; charset="utf-8"'))
    part.set_payload(_base64(ics))
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def _base64(content):
    """Base64 in lines of 76, each ended, as email.encoders writes it."""
    return base64.encodebytes(content).decode("ascii")


# MAIL_FROM is one setting for every email, and parsing an address costs as much as
# quoted-printable encoding a body: each of these parses it once per process.
@functools.lru_cache(maxsize=8)
def address_of(mail_from):
    """The bare address of MAIL_FROM ("n@example.org")."""
    return email.utils.parseaddr(mail_from)[1]


@functools.lru_cache(maxsize=8)
def domain_of(mail_from):
    """The domain of the From address: Message-IDs and List-Ids are made under it."""
    return address_of(mail_from).rpartition("@")[2] or "abierto.local"


@functools.lru_cache(maxsize=8)
def _from(mail_from):
    return _address(*email.utils.parseaddr(mail_from))


def one_line(value):
    # Header values may not contain line breaks; collapse any whitespace run to one space.
    return " ".join(str(value).split())


def _address(name, addr_spec):
    """A From/To value; a non-ASCII name is RFC 2047-encoded, so headers stay ASCII."""
    return email.utils.formataddr((name, addr_spec), charset=_UTF8_B64)


@functools.lru_cache(maxsize=256)  # a subject is shared by every recipient of an event or change
def _header(value):
    """A header value in ASCII: non-ASCII text as RFC 2047 encoded words, folded, which
    the policy above writes as they are. Encoding costs as much as a body."""
    return value if value.isascii() else Header(value, _UTF8_B64).encode(linesep="\n")


def _boundary():
    # Random enough never to occur in a body, so the generator need not search for it.
    return f"=_abierto_{uuid.uuid4().hex}"
