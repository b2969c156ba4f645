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
