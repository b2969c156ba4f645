"""The only module that talks SMTP; it sorts failures into "try again" and "give up".

One connection per worker process is kept open and reused: it saves a handshake per
email, and it lets the task record "sent" right after the server's 250 — the shorter
that gap, the smaller the chance that a killed worker sends one email twice. Where the
server offers PIPELINING (RFC 2920; Postfix, Exim and the big relays all do), MAIL, RCPT
and DATA go in one write: two round trips per email instead of four.

`SMTP_SECURITY` says how the connection is protected: `starttls` (upgrade after EHLO;
no STARTTLS offered means no email, never a fallback to clear text), `tls` (implicit TLS,
port 465) or `none` (the local sink only). TLS always verifies the server's certificate
and host name, against the system's CAs or `SMTP_CA_FILE`; a server that fails that gets
no email, and the delivery waits for a retry with the reason in its `last_error`.
"""
import functools
import io
import re
import smtplib
import ssl
import time
from email.generator import BytesGenerator
from email.utils import parseaddr

IDLE_CHECK_AFTER = 10.0  # seconds; servers drop idle clients, so check before reusing


class TransientMailError(Exception):
    """4xx or a connection problem: retry later."""


class PermanentMailError(Exception):
    """5xx: the server refused for good."""


class SMTPMailer:
    def __init__(self, settings):
        self.settings = settings
        self.sender = parseaddr(settings.mail_from)[1]  # the envelope's: bounces go there
        self._smtp, self._last_used, self._pipelining = None, 0.0, False
        self._tls = (ssl.create_default_context(cafile=settings.smtp_ca_file)
                     if settings.smtp_security != "none" else None)

    def send(self, message, recipient):
        """Hand one message for `recipient` to the server; raise Transient/PermanentMailError
        on failure."""
        data = _wire_bytes(message)
        try:
            smtp = self._connection()
            if self._pipelining:
                send_pipelined(smtp, self.sender, recipient, data)
            else:
                smtp.sendmail(self.sender, [recipient], data)
            self._last_used = time.monotonic()
        except UnicodeEncodeError as error:  # SMTP without SMTPUTF8 takes ASCII addresses only
            self._reset()
            raise PermanentMailError("an address outside ASCII") from error
        except smtplib.SMTPRecipientsRefused as error:
            self._reset()  # the session is mid-transaction; start clean next time
            codes = [code for code, _ in error.recipients.values()]
            raise _by_code(min(codes), f"recipient refused: {codes}") from error
        except smtplib.SMTPResponseException as error:
            self._close()
            raise _by_code(error.smtp_code, f"{error.smtp_code} {_text(error.smtp_error)}") from error
        except ssl.SSLCertVerificationError as error:  # an OSError: before the generic case
            self._close()
            raise TransientMailError(
                f"TLS certificate not trusted: {error.verify_message}") from error
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
            smtp = self._open()
            self._smtp, self._pipelining = smtp, smtp.has_extn("pipelining")
        return self._smtp

    def _open(self):
        """A new session, protected as SMTP_SECURITY says, logged in; closed if a step fails."""
        s = self.settings
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                    context=self._tls)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            if s.smtp_security == "starttls":
                smtp.starttls(context=self._tls)  # raises if not offered: no clear-text fallback
            if s.smtp_username:  # config.load refuses a login with SMTP_SECURITY=none
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.ehlo_or_helo_if_needed()
        except BaseException:
            smtp.close()
            raise
        return smtp

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


def send_pipelined(smtp, sender, recipient, data):
    """MAIL, RCPT and DATA in one write, their three replies read after; then the message.

    Raises as `smtplib.sendmail` would, so failures sort the same way on either path.
    """
    smtp.send(f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n")
    mail, rcpt, data_reply = smtp.getreply(), smtp.getreply(), smtp.getreply()
    refused = mail[0] != 250 or rcpt[0] not in (250, 251)
    if refused and data_reply[0] == 354:  # RFC 2920 forbids it; end the session, send nothing
        raise smtplib.SMTPServerDisconnected("DATA accepted for a refused transaction")
    if mail[0] != 250:
        raise smtplib.SMTPSenderRefused(*mail, sender)
    if rcpt[0] not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
    if data_reply[0] != 354:
        raise smtplib.SMTPDataError(*data_reply)
    smtp.send(_dot_stuffed(data) + b".\r\n")
    code, text = smtp.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, text)


_DOT_AT_LINE_START = re.compile(rb"^\.", re.MULTILINE)  # RFC 5321 4.5.2: such lines get one more


def _dot_stuffed(data):
    """The message with a dot added to each line that starts with one (RFC 5321 4.5.2). Few
    have such a line, and looking for one costs a fifth of the replacement (12 µs of 60)."""
    if data.startswith(b".") or b"\n." in data:
        return _DOT_AT_LINE_START.sub(b"..", data)
    return data


_LINE_END = re.compile(r"\r\n|\r|\n")  # what the stdlib generator takes for one
_CRLF = "\r\n"


def _wire_bytes(message):
    """The message as it goes over the wire: CRLF line ends, a CRLF at the end.

    Byte for byte what the stdlib's BytesGenerator writes (tests/unit/test_wire_bytes.py),
    for the trees `mime.message` makes: headers, then a body in one piece, or each part
    between its boundaries. The generator writes every part to a buffer of its own, clones
    itself and its policy and parses the Content-Type twice per part (0.25-0.4 ms of a
    reminder's CPU, this 0.06: docs/benchmarks.md). Any other tree (a part it would change
    or has handlers for) goes to the generator."""
    policy = _crlf_policy(message.policy)
    chunks = []
    if not _write_part(message, policy, chunks):
        return _generated(message)
    data = b"".join(chunks)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


@functools.lru_cache(maxsize=8)
def _crlf_policy(policy):
    return policy.clone(linesep=_CRLF)


def _write_part(part, policy, chunks):
    """Append `part`'s bytes to `chunks`; False if it is not one this writer knows."""
    chunks.extend(policy.fold_binary(name, value) for name, value in part.raw_items())
    chunks.append(b"\r\n")
    payload, (maintype, subtype, boundary) = part._payload, _content_type(part)
    if maintype == "message":  # the generator has handlers of its own
        return False
    if maintype == "multipart" or isinstance(payload, list):
        if (maintype != "multipart" or not isinstance(payload, list) or not payload
                or not boundary or part.preamble is not None or part.epilogue is not None
                or subtype == "signed"):
            return False
        delimiter = f"--{boundary}\r\n".encode("ascii")
        for position, subpart in enumerate(payload):
            chunks.append(delimiter if not position else b"\r\n" + delimiter)
            if not _write_part(subpart, policy, chunks):
                return False
        chunks.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
        return True
    if payload is None:
        return True
    if not isinstance(payload, str) or not payload.isascii():
        return False  # bytes, or what the generator would re-encode (surrogates) or refuse
    chunks.append(_crlf(payload).encode("ascii"))
    return True


# A Content-Type as mime.message and the email.mime classes write it: a lower-case type,
# then a multipart's boundary, quoted, as its first parameter.
_PLAIN_CONTENT_TYPE = re.compile(r'([a-z]+)/([a-z0-9.+-]+)(?:; boundary="([^"\s\\]+)")?(?:;|\Z)')


def _content_type(part):
    """(maintype, subtype, boundary or None), as the part's get_content_maintype(),
    get_content_subtype() and get_boundary() give them. Those parse every parameter of the
    header, three times: half of writing an email's bytes. Any other header is theirs."""
    value = part.get("content-type")
    match = isinstance(value, str) and _PLAIN_CONTENT_TYPE.match(value)
    if match and (match[1] != "multipart" or match[3]):
        return match.groups()
    return part.get_content_maintype(), part.get_content_subtype(), part.get_boundary()


def _crlf(text):
    """Every line end of `text` made CRLF, as the generator makes them. The encoders end
    lines with a bare LF, which a plain replace turns 4 times faster than the expression."""
    return text.replace("\n", _CRLF) if "\r" not in text else _LINE_END.sub(_CRLF, text)


def _generated(message):
    """The stdlib generator's bytes, for any message."""
    buffer = io.BytesIO()
    _Generator(buffer, mangle_from_=False, policy=message.policy).flatten(message, linesep="\r\n")
    data = buffer.getvalue()
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class _Generator(BytesGenerator):
    """The stdlib's generator, writing a part's body in one piece: it writes each line and
    each line end apart (hundreds of calls for an email with an image and an invite)."""

    def _write_lines(self, lines):
        if lines:  # the same bytes: every line end made `linesep`, the last line as it is
            self.write(_LINE_END.sub(self._NL, lines))


def _by_code(code, text):
    return PermanentMailError(text) if 500 <= code < 600 else TransientMailError(text)


def _text(value):
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
