"""SMTP over TLS against real aiosmtpd servers on real connections: STARTTLS and implicit
TLS verify the server's certificate and host name, a server that fails that gets no email
(the delivery waits for a retry and says why), and a login goes only inside TLS."""
import ssl
import subprocess
from dataclasses import replace
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from services.notifications.mail.mailer import SMTPMailer, TransientMailError
from services.notifications.models import Delivery
from services.notifications.pipeline import tasks
from shared import config
from shared.devstack import free_port
from tests.integration.test_sending import confirmation, queue


class Received:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, session.authenticated))
        return "250 OK"


def make_certificate(folder, names):
    """A self-signed certificate for `names` (subjectAltName syntax), made now: (cert, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=abierto test",
                    "-addext", f"subjectAltName={names}"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"), "IP:127.0.0.1,DNS:localhost")


def server_context(certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def start(certificate, implicit=False, **options):
    """A running server: implicit TLS, or STARTTLS required before anything else."""
    handler, port = Received(), free_port()
    tls = ({"ssl_context": server_context(certificate)} if implicit else
           {"tls_context": server_context(certificate), "require_starttls": True})
    controller = Controller(handler, hostname="127.0.0.1", port=port, **tls, **options)
    controller.start()
    return handler, port, controller


@pytest.fixture
def servers():
    started = []
    yield lambda *args, **kwargs: started.append(start(*args, **kwargs)) or started[-1][:2]
    for _handler, _port, controller in started:
        controller.stop()


def mailer(port, **settings):
    return SMTPMailer(config.load("notifications", smtp_host="127.0.0.1", smtp_port=port,
                                  smtp_timeout=3.0, mail_from="a@abierto.test", **settings))


def message():
    built = EmailMessage()
    built["From"], built["To"], built["Subject"] = "a@abierto.test", "ana@example.org", "Hola"
    built.set_content("Hola.\n")
    return built


@pytest.mark.parametrize("security, implicit", [("starttls", False), ("tls", True)])
def test_a_server_whose_certificate_is_not_trusted_gets_nothing(certificate, servers,
                                                                security, implicit):
    handler, port = servers(certificate, implicit=implicit)
    with pytest.raises(TransientMailError, match="^TLS certificate not trusted: "):
        mailer(port, smtp_security=security).send(message(), "ana@example.org")
    assert handler.messages == []


@pytest.mark.parametrize("security, implicit", [("starttls", False), ("tls", True)])
def test_with_its_ca_file_the_server_gets_the_email(certificate, servers, security, implicit):
    handler, port = servers(certificate, implicit=implicit)
    sending = mailer(port, smtp_security=security, smtp_ca_file=str(certificate[0]))
    sending.send(message(), "ana@example.org")
    sending.send(message(), "luis@example.org")  # the same TLS connection, reused
    assert [to for to, _ in handler.messages] == [["ana@example.org"], ["luis@example.org"]]
    sending._close()


def test_the_host_name_is_checked_too(servers, tmp_path):
    """A certificate the CA file trusts, but for another host: refused all the same."""
    elsewhere = make_certificate(tmp_path / "elsewhere", "DNS:mail.elsewhere.example")
    handler, port = servers(elsewhere, implicit=True)
    sending = mailer(port, smtp_security="tls", smtp_ca_file=str(elsewhere[0]))
    with pytest.raises(TransientMailError, match="^TLS certificate not trusted: IP address mismatch"):
        sending.send(message(), "ana@example.org")
    assert handler.messages == []


def test_a_login_goes_inside_starttls(certificate, servers, monkeypatch):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password, session.ssl is not None))
        return AuthResult(success=True)

    handler, port = servers(certificate, authenticator=authenticator, auth_required=True)
    monkeypatch.delenv("SMTP_SECURITY", raising=False)
    monkeypatch.delenv("SMTP_STARTTLS", raising=False)
    monkeypatch.setenv("SMTP_USERNAME", "abierto")  # SMTP_SECURITY unset: a login means starttls
    monkeypatch.setenv("SMTP_PASSWORD", "secreto")
    sending = mailer(port, smtp_ca_file=str(certificate[0]))
    assert sending.settings.smtp_security == "starttls"
    sending.send(message(), "ana@example.org")
    assert logins == [(b"abierto", b"secreto", True)]
    assert handler.messages == [(["ana@example.org"], True)]
    sending._close()


def test_starttls_never_falls_back_to_clear_text(servers):
    """A server that offers no STARTTLS (or a meddler who strips it) gets no email."""
    handler, port = Received(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(TransientMailError, match="STARTTLS"):
            mailer(port, smtp_security="starttls").send(message(), "ana@example.org")
    finally:
        controller.stop()
    assert handler.messages == []


def test_an_untrusted_server_leaves_the_delivery_waiting_and_saying_why(
        certificate, servers, worker, monkeypatch):
    """Through the worker's task: not sent, retried later, the reason in last_error."""
    handler, port = servers(certificate)
    settings = replace(tasks.collaborators.settings, smtp_port=port, smtp_security="starttls")
    untrusting = SMTPMailer(settings)
    monkeypatch.setattr(tasks, "collaborators",
                        replace(tasks.collaborators, settings=settings, mailer=untrusting))
    ids = queue(worker, "registration_confirmed", [confirmation("ana@example.org")])
    assert tasks.send_deliveries(ids) == ["awaiting_retry"]
    with worker.transaction() as session:
        (row,) = session.scalars(select(Delivery)).all()
        assert row.state == "awaiting_retry" and row.due_at is not None
        assert row.last_error.startswith("TLS certificate not trusted: ")
    assert handler.messages == []
