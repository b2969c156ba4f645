"""Assembling one email from its finished parts: headers, text, HTML (with the images it
shows) and an optional invite.

Built with the email package's classic (compat32) classes: the default policy's header
objects cost more than the rest of an email put together (`make bench`).
"""
import binascii
import functools
import email.encoders
import email.utils
import uuid
from datetime import datetime, timezone
from email.charset import BASE64, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32

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
            value = value.replace("\n", self.linesep) if "\n" in value else value
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if _written_as_is(name, value):
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


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
    outer = MIMEMultipart("mixed", boundary=_boundary(), policy=POLICY)
    outer["Subject"] = _header(one_line(subject))
    outer["From"] = _from(mail_from)
    outer["To"] = _address(*to)
    outer["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    outer["Message-ID"] = message_id
    outer["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        outer[name] = one_line(value)
    body = MIMEMultipart("alternative", boundary=_boundary())
    body.attach(_text(text, "plain"))
    body.attach(_with_images(_text(html, "html"), inline))
    outer.attach(body)
    if invite:
        outer.attach(_calendar(*invite))
    return outer


def _text(body, subtype):
    """A UTF-8 text part in quoted-printable: 7-bit safe for any relay, yet readable raw.

    Encoded by binascii's C codec: the email package's own (a str.translate over a
    256-entry map) cost as much as the rest of an alert."""
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _with_images(html, images):
    """The HTML part, or multipart/related with the images it refers to by "cid:" (RFC 2387)."""
    if not images:
        return html
    related = MIMEMultipart("related", boundary=_boundary())
    related.set_param("type", "text/html")
    related.attach(html)
    for content, subtype, content_id, filename in images:
        part = MIMENonMultipart("image", subtype)
        part.set_payload(content)
        email.encoders.encode_base64(part)
        part["Content-ID"] = f"<{content_id}>"
        named = {"filename": filename} if filename else {}
        part.add_header("Content-Disposition", "inline", **named)
        related.attach(part)
    return related


def _calendar(ics, method, filename):
    part = MIMEApplication(ics, "calendar", email.encoders.encode_base64)
    part.set_type("text/calendar")
    part.set_param("method", method)
    part.set_param("charset", "utf-8")
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


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
