"""`abierto` on operators' mistakes: one line that says what to fix, never a traceback,
and nothing half done."""
import re
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from services.mailsink.server import list_messages, serve
from shared.devstack import free_port

ABIERTO = Path(sys.executable).with_name("abierto")
ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "a-key-of-ones-own-at-least-32-characters"
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1


@pytest.fixture
def abierto(tmp_path, monkeypatch):
    """abierto(*args, **env) -> the finished process, with every database under tmp_path."""
    base = {"DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin",
            "ABIERTO_ENV": "development"}  # each test of production says so

    def run(*args, input=None, **env):
        return subprocess.run([str(ABIERTO), *args], env={**base, **env}, input=input,
                              capture_output=True, text=True, timeout=60)

    return run


def one_line_error(done, exit_code=1):
    assert done.returncode == exit_code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and lines[-1].startswith("Error: "), done.stderr
    return lines[-1]


@pytest.mark.parametrize("args", [
    ("token", "list", "--service", "registration"),
    ("token", "create", "--service", "registration", "--scopes", "events:write"),
    ("history", "verify"),
    ("seed",),
])
def test_a_database_that_does_not_answer_is_one_line(abierto, args):
    done = abierto(*args, REGISTRATION_DATABASE_URL=NOWHERE, COMMITMENTS_DATABASE_URL=NOWHERE)
    assert "the database refused" in one_line_error(done)


def test_a_database_never_migrated_says_to_upgrade(abierto):
    done = abierto("token", "list", "--service", "registration")
    assert "abierto db upgrade" in one_line_error(done)


def test_one_database_for_every_service_is_refused_before_any_migration(abierto, tmp_path):
    """Each service keeps its own migration history; one shared database would break halfway."""
    shared = tmp_path / "one.db"
    done = abierto("db", "upgrade", DATABASE_URL=f"sqlite:///{shared}")
    assert "share one database" in one_line_error(done)
    assert not shared.exists()


@pytest.mark.parametrize("args, says", [
    (("token", "revoke", "--service", "registration", str(2**63)), "TOKEN_ID"),
    (("token", "create", "--service", "registration", "--scopes", "events:write", "--name", " "),
     "--name"),
    (("mailsink", "--port", "70000"), "--port"),
])
def test_values_out_of_range_are_usage_errors(abierto, args, says):
    done = abierto("db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert says in one_line_error(abierto(*args), exit_code=2)


def test_arguments_that_are_not_utf8_are_a_usage_error(abierto):
    done = subprocess.run([str(ABIERTO), "token", "list", "--service", "registration",
                           b"jos\xe9"], capture_output=True, text=True, timeout=60)
    assert "UTF-8" in one_line_error(done, exit_code=2)


@pytest.mark.parametrize("setting, says", [
    ({"SMTP_PORT": "abc"}, "SMTP_PORT"),
    ({"DELIVERY_RETRY_DELAYS": "a,b"}, "DELIVERY_RETRY_DELAYS"),
    ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL"),
    ({"TRUSTED_PROXY_HOPS": "one"}, "TRUSTED_PROXY_HOPS"),
    ({"TRUSTED_PROXY_HOPS": "-1"}, "TRUSTED_PROXY_HOPS"),
    ({"MAIL_CAP": "lots"}, "MAIL_CAP"),
    ({"MAIL_CAP": "0/hour"}, "MAIL_CAP"),
    ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY"),
    ({"SMTP_USERNAME": "abierto", "SMTP_SECURITY": "none"}, "SMTP_SECURITY=none"),
    ({"SMTP_STARTTLS": "true", "SMTP_SECURITY": "none"}, "SMTP_STARTTLS"),
    ({"SMTP_CA_FILE": "/no/such/ca.pem"}, "SMTP_CA_FILE"),
    ({"PENDING_HOLD": "half an hour"}, "PENDING_HOLD"),
    ({"EVENT_CLIENT_LIMIT": "ten"}, "EVENT_CLIENT_LIMIT"),
])
def test_a_setting_that_cannot_be_used_is_named(abierto, setting, says):
    assert says in one_line_error(abierto("mail", "list", **setting))


@pytest.mark.parametrize("setting, says", [
    ({"ABIERTO_ENV": "production"}, "SECRET_KEY"),
    ({"ABIERTO_ENV": ""}, "SECRET_KEY"),  # no ABIERTO_ENV: production
    ({"ABIERTO_ENV": "", "SECRET_KEY": "change-me"}, "SECRET_KEY"),
    ({"ABIERTO_ENV": "", "SECRET_KEY": "x" * 31}, "SECRET_KEY"),
    ({"ABIERTO_ENV": "", "SECRET_KEY": GOOD_KEY, "SECRET_KEY_FALLBACKS": "change-me"},
     "SECRET_KEY_FALLBACKS"),
])
def test_a_process_names_a_key_it_will_not_run_with(abierto, setting, says):
    assert says in one_line_error(abierto("relay", "registration", **setting))


def test_a_long_key_of_ones_own_runs_outside_development(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "from services.registration.app import create_app; create_app()"],
        env={"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "SECRET_KEY": GOOD_KEY,
             "SECRET_KEY_FALLBACKS": GOOD_KEY[::-1]},
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_operator_commands_that_sign_nothing_need_no_key(abierto):
    """`make run`'s operator, in another shell, reads the local mail and lists the catalogue
    without ABIERTO_ENV: only what signs or verifies links needs a key nobody could know."""
    assert abierto("mail", "list", ABIERTO_ENV="").returncode == 0
    assert abierto("events", ABIERTO_ENV="").returncode == 0


# Every long-running process, as the Procfile starts it, with the key of docker-compose.yml.
PROCESSES = {
    "relay": [str(ABIERTO), "relay", "registration"],
    "consumer": [str(ABIERTO), "consume"],
    "sweeper": [str(ABIERTO), "sweep"],
    "mailsink": [str(ABIERTO), "mailsink"],
    "timers": [str(ABIERTO), "timers"],
    "timers (its old name)": [str(ABIERTO), "holds"],
    **{f"{service} app": [sys.executable, "-c",
                          f"from services.{service}.app import create_app; create_app()"]
       for service in ("registration", "commitments", "notifications")},
    "worker": [str(ABIERTO.with_name("celery")), "--app", "services.notifications.celery_app",
               "worker"],
}


@pytest.mark.parametrize("command", PROCESSES.values(), ids=PROCESSES.keys())
def test_no_process_starts_with_a_shipped_key_outside_development(tmp_path, command):
    done = subprocess.run(command, env={"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
                                        "SECRET_KEY": "change-me"},
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "SECRET_KEY" in one_line_error(done, done.returncode)


def test_gunicorn_stops_instead_of_restarting_a_worker_that_cannot_start(tmp_path):
    """The app factory's exit code is gunicorn's "App failed to load": the master gives up."""
    done = subprocess.run(
        [str(ABIERTO.with_name("gunicorn")), "--bind", "127.0.0.1:0",
         "services.registration.app:create_app()"],
        env={"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 4 and "Traceback" not in done.stderr, done.stderr
    assert "Error: SECRET_KEY is not set" in done.stderr and "App failed to load" in done.stderr


def test_a_lower_case_log_level_is_understood(abierto):
    assert abierto("events", LOG_LEVEL="debug").returncode == 0
    assert "LOG_LEVEL" in one_line_error(abierto("events", LOG_LEVEL="chatty"), exit_code=2)


@pytest.mark.parametrize("content", [
    "{\"title\": \"Acci\xf3n\"}".encode("latin-1"),
    b"[" * 100_000 + b"]" * 100_000,
    b"{\"number\": " + b"9" * 5000 + b"}",
], ids=["latin-1", "nested-100000-deep", "5000-digit-number"])
def test_a_plan_file_that_is_not_utf8_json_is_one_line(abierto, tmp_path, content):
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    assert abierto("db", "upgrade").returncode == 0
    assert "is not UTF-8 JSON" in one_line_error(abierto("plan", "import", str(path)))


@pytest.mark.parametrize("name", ["", ".", "folder.eml"])
def test_mail_show_of_what_is_no_message_says_so(abierto, tmp_path, name):
    (tmp_path / "mail" / "folder.eml").mkdir(parents=True)
    assert "no message" in one_line_error(abierto("mail", "show", name))
    assert abierto("mail", "list").returncode == 0


def test_mail_show_reads_a_message_as_a_mail_client_would(abierto, tmp_path):
    """Headers, the text decoded (not quoted-printable), the invite listed; --raw: the MIME."""
    from services.notifications.mail import compose
    from tests.unit.test_emails import fact

    message = compose.build("registration_confirmed", fact(kind="registration_confirmed"),
                            mail_from="Abierto <abierto@municipio.example>",
                            message_id="<1@municipio.example>")
    controller = serve(tmp_path / "mail", port=free_port())
    try:
        with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
            client.send_message(message)
    finally:
        controller.stop()

    shown = abierto("mail", "show", "000001.eml")
    assert shown.returncode == 0, shown.stderr
    head, _, rest = shown.stdout.partition("\n\n")
    assert head.splitlines()[:3] == [
        "From: Abierto <abierto@municipio.example>", "To: Ana López <ana@example.org>",
        "Subject: Registro confirmado: Presentación del Cumplimiento del Plan de Acción de "
        "Gobierno Abierto / Registration confirmed"]
    assert head.splitlines()[3].startswith("Date: ")
    assert "Hola, Ana López:" in rest and "Hello Ana López," in rest
    assert "=C3" not in rest and "Content-Type" not in rest
    listed, attachment = rest.rstrip().splitlines()[-2:]
    assert listed == "Attachments (1):"
    assert re.fullmatch(r"  evento\.ics  text/calendar  (\d+ bytes|\d+\.\d KiB)", attachment)
    from services.mailsink.reading import as_read  # the bytes it prints: `shown` is read as text
    assert "\r" not in as_read((tmp_path / "mail" / "000001.eml").read_bytes())  # links copy clean
    raw = abierto("mail", "show", "--raw", "000001.eml").stdout
    assert "MIME-Version: 1.0" in raw and "Content-Type: text/calendar" in raw
    assert "Hola, Ana López:" not in raw  # encoded, as it travelled


def test_a_busy_port_stops_the_mail_sink_with_one_line(abierto):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = abierto("mailsink", "--port", str(taken.getsockname()[1]))
    assert "in use" in one_line_error(done)


def test_the_mail_sink_never_overwrites_a_kept_message(tmp_path):
    """With 000002 deleted, counting files would write the next message over 000003."""
    for number in (1, 3):
        (tmp_path / f"{number:06d}.eml").write_bytes(b"Subject: kept\r\n\r\nkept\r\n")
    controller = serve(tmp_path, port=free_port())
    try:
        with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: new\r\n\r\nnew\r\n")
    finally:
        controller.stop()

    assert [(name, subject) for name, _, _, subject in list_messages(tmp_path)] == [
        ("000001.eml", "kept"), ("000003.eml", "kept"), ("000004.eml", "new")]


@pytest.mark.parametrize("name", ["timers", "holds"])
def test_the_timers_process_expires_a_lapsed_hold_and_stops_on_sigterm(tmp_path, name):
    """`abierto timers` (the Procfile's `timers`; `holds`, its old name, for operators' old
    scripts) expires what is due, promotes the first person waiting, and leaves through the
    normal exit path on SIGTERM."""
    import signal
    import time
    from datetime import timedelta

    from services.registration import service as use_cases
    from services.registration.facts import Links
    from services.registration.models import Registration
    from shared.db import Database, upgrade, utcnow
    from shared.signing import Keys

    url = f"sqlite:///{tmp_path}/registration.db"
    upgrade("registration", url)
    db = Database(url)
    long_ago = utcnow() - timedelta(hours=1)
    event = use_cases.create_event(db, dict(
        title="Foro", starts_at=utcnow() + timedelta(days=3), ends_at=utcnow() + timedelta(days=3, hours=2),
        timezone="America/Chihuahua", host_organization="Municipio", capacity=1,
        confirm_by_email=True), long_ago)
    links = Links("http://abierto.test", Keys("cli-secret"))
    for n in (1, 2):
        use_cases.register(db, event.id, {"name": f"P{n}", "email": f"p{n}@example.org",
                                          "organization": "", "sector": "citizen", "language": "es"},
                           links, long_ago, pending_hold=timedelta(minutes=30))
    process = subprocess.Popen(
        [str(ABIERTO), name], env={"DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING",
                                      "ABIERTO_ENV": "development",
                                      "REGISTRATION_DATABASE_URL": url, "SWEEP_EVERY": "0.1",
                                      "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        statuses = []
        for _ in range(100):
            with db.transaction() as session:
                statuses = [r.status for r in session.query(Registration).order_by(Registration.id)]
            if statuses == ["expired", "confirmed"]:
                break
            time.sleep(0.1)
        assert statuses == ["expired", "confirmed"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        db.dispose()
    assert process.returncode == 0 and "Traceback" not in stderr, stderr


def test_the_timers_old_name_runs_but_is_not_listed(abierto):
    listed = abierto("--help").stdout
    assert "timers" in listed and " holds " not in listed
    assert "REMINDERS" in abierto("holds", "--help").stdout
