"""The mailer against a real aiosmtpd server, with and without PIPELINING: what arrives,
how refusals at each step sort into "try again" and "give up", and that the connection
stays usable after a refusal."""
import smtplib
import socket
import threading
from email.message import EmailMessage

import pytest

from services.mailsink.server import Pipelining, serve
from services.notifications.mail.mailer import PermanentMailError, SMTPMailer, TransientMailError
from shared import config
from shared.devstack import free_port


class Server:
    """Accepts every message, except where told to refuse at MAIL, RCPT or end of DATA."""

    def __init__(self):
        self.received, self.refuse = [], {}  # step -> reply

    async def handle_MAIL(self, server, session, envelope, address, options):
        if "MAIL" in self.refuse:
            return self.refuse["MAIL"]
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if "RCPT" in self.refuse:
            return self.refuse["RCPT"]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if "DATA" in self.refuse:
            return self.refuse["DATA"]
        self.received.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 Message accepted for delivery"


class PipeliningServer(Pipelining, Server):
    pass


@pytest.fixture(params=[PipeliningServer, Server], ids=["pipelining", "one-at-a-time"])
def server(request):
    handler, port = request.param(), free_port()
    controller = serve(None, "127.0.0.1", port, handler=handler)
    mailer = SMTPMailer(config.load("notifications", smtp_host="127.0.0.1", smtp_port=port,
                                    smtp_timeout=3.0, mail_from="Abierto <a@abierto.test>"))
    yield handler, mailer
    mailer._close()
    controller.stop()


def message(body="Hola.\n"):
    built = EmailMessage()
    built["From"], built["To"], built["Subject"] = "Abierto <a@abierto.test>", "ana@example.org", "Hola"
    built.set_content(body)
    return built


def test_the_message_arrives_whole_for_the_envelope_recipient(server):
    handler, mailer = server
    body = "Primera línea.\n.Una línea que empieza con punto.\n..y otra con dos.\n"
    mailer.send(message(body), "ana@example.org")
    mailer.send(message(), "luis@example.org")
    (sender, to, content), second = handler.received
    assert (sender, to) == ("a@abierto.test", ["ana@example.org"])
    assert second[1] == ["luis@example.org"]
    assert "Primera l" in content.decode() and "\r\n.Una l" in content.decode()
    assert "\r\n..y otra con dos." in content.decode()  # dots as written, after unstuffing


def test_a_pipelining_server_gets_mail_rcpt_and_data_in_one_write(monkeypatch):
    handler, port = PipeliningServer(), free_port()
    controller = serve(None, "127.0.0.1", port, handler=handler)
    mailer = SMTPMailer(config.load("notifications", smtp_host="127.0.0.1", smtp_port=port,
                                    smtp_timeout=3.0, mail_from="a@abierto.test"))
    writes = []
    real_send = smtplib.SMTP.send
    monkeypatch.setattr(smtplib.SMTP, "send", lambda smtp, data: (writes.append(data), real_send(smtp, data))[1])
    try:
        mailer.send(message(), "ana@example.org")
    finally:
        mailer._close()
        controller.stop()
    commands = [w for w in writes if isinstance(w, str) and w.startswith("MAIL")]
    assert commands == ["MAIL FROM:<a@abierto.test>\r\nRCPT TO:<ana@example.org>\r\nDATA\r\n"]
    assert len(handler.received) == 1


@pytest.mark.parametrize("step, reply, error", [
    ("RCPT", "550 5.1.1 Mailbox unavailable", PermanentMailError),
    ("RCPT", "450 4.2.1 Mailbox busy", TransientMailError),
    ("MAIL", "451 4.3.0 Try again later", TransientMailError),
    ("MAIL", "553 5.7.1 Sender not allowed", PermanentMailError),
    ("DATA", "554 5.6.0 Message refused", PermanentMailError),
    ("DATA", "452 4.3.1 Insufficient storage", TransientMailError),
])
def test_a_refusal_sorts_by_its_code_and_the_next_email_still_goes(server, step, reply, error):
    handler, mailer = server
    handler.refuse[step] = reply
    with pytest.raises(error, match=reply[:3]):
        mailer.send(message(), "ana@example.org")
    del handler.refuse[step]
    mailer.send(message(), "luis@example.org")
    assert [to for _, to, _ in handler.received] == [["luis@example.org"]]


def test_an_address_outside_ascii_is_given_up_and_the_next_email_still_goes(server):
    handler, mailer = server
    with pytest.raises(PermanentMailError, match="ASCII"):
        mailer.send(message(), "añil@example.org")
    mailer.send(message(), "ana@example.org")
    assert [to for _, to, _ in handler.received] == [["ana@example.org"]]


def test_no_server_listening_is_worth_another_try():
    mailer = SMTPMailer(config.load("notifications", smtp_host="127.0.0.1", smtp_port=free_port(),
                                    smtp_timeout=1.0, mail_from="a@abierto.test"))
    with pytest.raises(TransientMailError):
        mailer.send(message(), "ana@example.org")


def test_a_server_that_takes_data_for_a_refused_recipient_gets_no_message():
    """RFC 2920 forbids a 354 after every RCPT was refused; if a broken server answers so
    anyway, the mailer ends the session instead of sending the message to nobody knows whom."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = []

    def broken_server():
        connection, _ = listener.accept()
        with connection, connection.makefile("rb") as lines:
            connection.sendall(b"220 broken\r\n")
            for line in lines:
                received.append(line)
                command = line[:4].upper()
                if command == b"EHLO":
                    connection.sendall(b"250-broken\r\n250 PIPELINING\r\n")
                elif command == b"RCPT":
                    connection.sendall(b"550 5.1.1 No such mailbox\r\n")
                elif command == b"DATA":
                    connection.sendall(b"354 Go ahead anyway\r\n")
                else:
                    connection.sendall(b"250 OK\r\n")

    server = threading.Thread(target=broken_server, daemon=True)
    server.start()
    mailer = SMTPMailer(config.load("notifications", smtp_host="127.0.0.1",
                                    smtp_port=listener.getsockname()[1], smtp_timeout=3.0,
                                    mail_from="a@abierto.test"))
    with pytest.raises(TransientMailError, match="refused transaction"):
        mailer.send(message("Texto que no debe salir.\n"), "ana@example.org")
    server.join(timeout=5)
    listener.close()
    assert not server.is_alive()  # the mailer closed the connection
    assert not any(b"no debe salir" in line for line in received)
