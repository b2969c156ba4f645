"""What SMTP_SECURITY becomes from the environment: a login is never sent in clear by default."""
import pytest

from shared import config

SMTP = ("SMTP_SECURITY", "SMTP_STARTTLS", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_CA_FILE",
        "MAIL_CAP")


@pytest.fixture
def environ(monkeypatch):
    for name in SMTP:
        monkeypatch.delenv(name, raising=False)
    return lambda **values: [monkeypatch.setenv(k, v) for k, v in values.items()]


@pytest.mark.parametrize("values, security", [
    ({}, "none"),  # the local sink
    ({"SMTP_USERNAME": "abierto"}, "starttls"),  # a login implies TLS
    ({"SMTP_STARTTLS": "true"}, "starttls"),  # the older setting still works
    ({"SMTP_STARTTLS": "false"}, "none"),
    ({"SMTP_SECURITY": "TLS", "SMTP_USERNAME": "abierto"}, "tls"),
    ({"SMTP_SECURITY": "starttls", "SMTP_STARTTLS": "true"}, "starttls"),
])
def test_smtp_security_from_the_environment(environ, values, security):
    environ(**values)
    assert config.load("notifications").smtp_security == security


def test_a_login_without_tls_stops_the_process(environ):
    environ(SMTP_USERNAME="abierto", SMTP_PASSWORD="secreto", SMTP_SECURITY="none")
    with pytest.raises(config.ConfigError, match="SMTP_SECURITY=none") as raised:
        config.load("notifications")
    assert "\n" not in str(raised.value) and "secreto" not in str(raised.value)


def test_the_mail_cap_defaults_to_five_an_hour_and_twenty_a_day(environ):
    assert config.load("notifications").mail_cap == "5/hour;20/day"
    environ(MAIL_CAP="bad")
    with pytest.raises(config.ConfigError, match="MAIL_CAP"):
        config.load("notifications")
