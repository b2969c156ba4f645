"""What goes over the wire is byte for byte what the stdlib's generator writes, though the
mailer writes each part's body in one piece rather than line by line."""
import io
from email.generator import BytesGenerator
from email.mime.text import MIMEText

import pytest

from services.notifications.mail import compose
from services.notifications.mail.mailer import _wire_bytes
from tests.unit.test_checkin_qr_email import seat


def stdlib_bytes(message):
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=message.policy).flatten(message, linesep="\r\n")
    data = buffer.getvalue()
    return data if data.endswith(b"\r\n") else data + b"\r\n"


@pytest.mark.parametrize("kind", ["reminder", "registration_confirmed", "registration_cancelled"])
def test_an_email_with_its_image_and_invite_is_written_as_the_stdlib_writes_it(kind):
    message = compose.build(kind, seat(kind), mail_from="Abierto <n@abierto.example.org>",
                            message_id="<1@abierto.example.org>")
    assert _wire_bytes(message) == stdlib_bytes(message)
    assert b"\r\n\r\n" in _wire_bytes(message) and b"\n" not in _wire_bytes(message).replace(b"\r\n", b"")


@pytest.mark.parametrize("body", ["one line", "ends\n", "mixed\r\nends\rand\nmore\n\n", "\n"])
def test_every_kind_of_line_end_becomes_crlf_as_before(body):
    message = MIMEText(body, "plain", "us-ascii")
    assert _wire_bytes(message) == stdlib_bytes(message)


def _multipart(*parts, boundary="b1", **attributes):
    from email.mime.multipart import MIMEMultipart
    message = MIMEMultipart("mixed", boundary=boundary)
    for part in parts:
        message.attach(part)
    for name, value in attributes.items():
        setattr(message, name, value)
    return message


def _trees_the_writer_leaves_to_the_generator():
    from email.message import Message
    from email.mime.message import MIMEMessage
    text = MIMEText("hola\n", "plain", "utf-8")
    no_boundary = _multipart(MIMEText("a\n"), boundary=None)  # the generator makes one
    raw = Message()
    raw["Content-Type"] = "multipart/mixed; boundary=x"
    raw.set_payload("kept\nas it is\r\n")
    return {
        "a preamble and an epilogue": _multipart(text, preamble="before", epilogue="after\n"),
        "no boundary yet": no_boundary,
        "no parts": _multipart(),
        "an attached message": _multipart(MIMEMessage(MIMEText("inner\n"))),
        "a multipart written as a string": raw,
        "nested parts": _multipart(_multipart(MIMEText("x"), boundary="b2"), text),
    }


@pytest.mark.parametrize("name", list(_trees_the_writer_leaves_to_the_generator()))
def test_other_trees_are_written_as_the_stdlib_writes_them(name):
    message = _trees_the_writer_leaves_to_the_generator()[name]
    assert _wire_bytes(message) == stdlib_bytes(message)


def test_text_outside_ascii_is_refused_as_the_stdlib_refuses_it():
    message = MIMEText("x", "plain", "utf-8")
    message.set_payload("año")
    with pytest.raises(UnicodeEncodeError):
        stdlib_bytes(message)
    with pytest.raises(UnicodeEncodeError):
        _wire_bytes(message)


@pytest.mark.parametrize("content_type", [
    'text/plain; charset="utf-8"', 'multipart/mixed; boundary="b1"',
    'multipart/related; boundary="=_abierto_0f"; type="text/html"', "multipart/mixed; boundary=x",
    'multipart/mixed;boundary="y"', 'multipart/mixed; charset=x; boundary="z"',
    'multipart/mixed; boundary="a b"', "multipart/alternative", "Text/HTML", "image/svg+xml",
    'application/vnd.ms-excel; name="a.xls"', "text/plain ; charset=utf-8", "nonsense", ""])
def test_a_parts_type_and_boundary_are_read_as_the_email_package_reads_them(content_type):
    from email.message import Message

    from services.notifications.mail.mailer import _content_type
    part = Message()
    part["Content-Type"] = content_type
    assert _content_type(part) == (part.get_content_maintype(), part.get_content_subtype(),
                                   part.get_boundary())
