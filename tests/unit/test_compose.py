"""docker-compose.yml stays in step with the Procfile (the local run) and is shaped as it
would be deployed (localhost ports, no default secrets, one database role per service);
no Docker needed."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
SETUP_COMMAND = "abierto db upgrade && abierto seed"
INFRASTRUCTURE = {"redis", "postgres", "mailsink", "migrate"}
# Procfile processes with no compose counterpart of the same kind: the local
# SMTP sink is replaced by the Mailpit service that keeps its name.
LOCAL_ONLY = {"mailsink"}
DB_SERVICES = ("registration", "commitments", "notifications")
# Secrets with no default (${NAME:-}): the file validates without them, and each
# container that needs one refuses to start while it is missing.
REQUIRED = ("SECRET_KEY", "REDIS_PASSWORD", "POSTGRES_PASSWORD",
            *(f"{name.upper()}_DB_PASSWORD" for name in DB_SERVICES))


def read_procfile():
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        processes[name.strip()] = command.strip()
    return processes


@pytest.fixture(scope="module")
def procfile():
    return read_procfile()


@pytest.fixture(scope="module")
def services():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


@pytest.fixture(scope="module")
def app_services(services):
    return {name: spec for name, spec in services.items() if name not in INFRASTRUCTURE}


def unescape(command):
    """What the container receives: compose turns "$$" into "$".

    A lone "$" would be interpolated by compose from the host's environment
    instead of reaching the container's shell, so it is an error here.
    """
    unescaped = []
    for part in command:
        pieces = part.split("$$")
        assert not any("$" in piece for piece in pieces), f"unescaped $ in {part!r}"
        unescaped.append("$".join(pieces))
    return unescaped


def test_every_procfile_process_runs_the_same_command(procfile, services):
    for name, command in procfile.items():
        if name in LOCAL_ONLY:
            continue
        assert name in services, f"Procfile process {name!r} has no compose service"
        assert unescape(services[name]["command"]) == ["sh", "-c", command], name


def test_no_compose_process_is_missing_from_the_procfile(procfile, services):
    extra = set(services) - (set(procfile) - LOCAL_ONLY)
    assert extra == INFRASTRUCTURE


def test_migrate_runs_the_local_setup_command(services):
    assert services["migrate"]["command"] == ["sh", "-c", SETUP_COMMAND]


def test_local_run_script_runs_the_same_setup_command():
    run_sh = ROOT / "scripts" / "run.sh"
    assert run_sh.exists(), "scripts/run.sh is missing"
    assert SETUP_COMMAND in run_sh.read_text()


def test_app_services_wait_for_infrastructure_and_migrations(app_services):
    expected = {
        "redis": "service_healthy",
        "postgres": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    for name, spec in app_services.items():
        depends_on = spec.get("depends_on")
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for dependency, condition in expected.items():
            assert depends_on.get(dependency, {}).get("condition") == condition, (
                f"{name} -> {dependency}"
            )


def test_web_services_have_healthchecks(procfile, services):
    web = [name for name, command in procfile.items() if command.startswith("gunicorn")]
    assert web, "no gunicorn process in the Procfile"
    for name in web:
        test = services[name].get("healthcheck", {}).get("test")
        assert test, f"{name} has no healthcheck"


def compose_config(**environment):
    """`docker-compose config -q` with exactly the REQUIRED variables given here set."""
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail(
            "docker-compose is not on PATH: install Debian's docker-compose package "
            "(apt-get install docker-compose) to validate docker-compose.yml"
        )
    env = {key: value for key, value in os.environ.items() if key not in REQUIRED}
    return subprocess.run(
        [executable, "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_accepts_the_file():
    result = compose_config(**{name: "a-Secret_value-1" for name in REQUIRED})
    assert result.returncode == 0, result.stderr or result.stdout


def test_docker_compose_accepts_the_file_before_its_secrets_are_set():
    """`docker-compose config -q` on a fresh clone: the containers refuse, not the file."""
    result = compose_config()
    assert result.returncode == 0, result.stderr or result.stdout


def _run_shell(command, **environment):
    return subprocess.run(["sh", "-c", command], env={"PATH": "/usr/bin:/bin", **environment},
                          capture_output=True, text=True, timeout=30)


def test_redis_refuses_to_start_without_its_password(services):
    """The container's own command, run here: with no password it stops before redis-server."""
    command = services["redis"]["command"]
    assert command[:2] == ["sh", "-c"]
    script = command[2].replace("$$", "$")
    done = _run_shell(script.replace("exec redis-server", "exec echo redis-server"),
                      REDIS_PASSWORD="")
    assert done.returncode == 1 and "set REDIS_PASSWORD" in done.stderr
    started = _run_shell(script.replace("exec redis-server", "exec echo redis-server"),
                         REDIS_PASSWORD="s3cret")
    assert started.returncode == 0 and "--requirepass s3cret" in started.stdout


@pytest.mark.parametrize("missing", [f"{name.upper()}_DB_PASSWORD" for name in DB_SERVICES])
def test_the_database_roles_are_not_made_without_their_passwords(missing):
    """docker/postgres/init.sh stops before making any role when one password is empty."""
    passwords = {f"{name.upper()}_DB_PASSWORD": "s3cret" for name in DB_SERVICES}
    done = subprocess.run(["/bin/sh", str(ROOT / "docker" / "postgres" / "init.sh")],
                          env={"PATH": "/nonexistent", **passwords, missing: ""},  # no psql reachable
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and f"set {missing}" in done.stderr


@pytest.fixture(scope="module")
def compose_text():
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def app_environment():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-environment"]


def test_every_published_port_is_bound_to_localhost(services):
    """A reverse proxy on the host is the way in; Mailpit's inbox is for this host only."""
    published = {name: spec["ports"] for name, spec in services.items() if spec.get("ports")}
    assert {"registration", "commitments", "notifications", "mailsink"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port!r}"


@pytest.mark.parametrize("name", REQUIRED)
def test_secrets_have_no_default(compose_text, name):
    uses = re.findall(r"\$\{" + name + r"(\W{0,2})", compose_text)
    assert uses, f"{name} is not used"
    assert re.findall(r"\$\{" + name + r"[^}]*\}", compose_text) == [f"${{{name}:-}}"] * len(uses), \
        f"every ${{{name}...}} must be ${{{name}:-}}: no default value"


def test_each_service_connects_as_its_own_role_to_its_own_database(app_environment, services):
    superuser = services["postgres"]["environment"].get("POSTGRES_USER", "postgres")
    for name in DB_SERVICES:
        url = make_url(app_environment[f"{name.upper()}_DATABASE_URL"])
        assert url.username == name != superuser
        assert url.database == name
        assert url.password == f"${{{name.upper()}_DB_PASSWORD:-}}"


def test_postgres_makes_the_roles_from_the_environment(services):
    postgres = services["postgres"]
    assert "./docker/postgres/init.sh:/docker-entrypoint-initdb.d/init.sh:ro" in postgres["volumes"]
    assert "./docker/postgres/init.sql:/abierto/init.sql:ro" in postgres["volumes"]
    script = (ROOT / "docker" / "postgres" / "init.sh").read_text()
    for name in DB_SERVICES:
        variable = f"{name.upper()}_DB_PASSWORD"
        assert variable in postgres["environment"]
        assert f"{name}) password=${variable} ;;" in script
    assert "for service in " + " ".join(DB_SERVICES) + "; do" in script


def test_redis_requires_a_password_everywhere(services, app_environment):
    redis = services["redis"]
    command = redis["command"]
    assert '--requirepass "$$REDIS_PASSWORD"' in command[2]
    assert redis["environment"]["REDIS_PASSWORD"] == "${REDIS_PASSWORD:-}"
    assert app_environment["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:-}@")
    assert redis["environment"]["REDISCLI_AUTH"] == "${REDIS_PASSWORD:-}"
    assert "PONG" in " ".join(redis["healthcheck"]["test"])  # NOAUTH must fail the check


def test_nothing_runs_in_development_mode(services, app_environment):
    environments = [app_environment] + [spec.get("environment") or {} for spec in services.values()]
    for environment in environments:
        if isinstance(environment, list):  # the KEY=value form
            environment = dict(item.partition("=")[::2] for item in environment)
        assert environment.get("ABIERTO_ENV", "production") != "development"


def test_public_addresses_and_mail_come_from_the_environment_with_local_defaults():
    """An operator points compose at their domain and mail relay without editing the file."""
    given = {"REGISTRATION_PUBLIC_BASE_URL": "https://eventos.example.gob.mx",
             "COMMITMENTS_PUBLIC_BASE_URL": "https://compromisos.example.gob.mx",
             "NOTIFICATIONS_PUBLIC_BASE_URL": "https://avisos.example.gob.mx",
             "SMTP_HOST": "smtp.example.gob.mx", "SMTP_PORT": "587", "SMTP_SECURITY": "starttls",
             "SMTP_USERNAME": "abierto", "SMTP_PASSWORD": "a-Secret_value-2",
             "MAIL_FROM": "Gobierno Abierto <abierto@example.gob.mx>", "TRUSTED_PROXY_HOPS": "2"}
    overridden = _resolved_environment("worker", **given)
    assert {name: overridden[name] for name in given} == given
    defaults = _resolved_environment("worker")
    assert (defaults["SMTP_HOST"], defaults["SMTP_PORT"], defaults["SMTP_SECURITY"]) == (
        "mailsink", "1025", "none")
    assert defaults["REGISTRATION_PUBLIC_BASE_URL"] == "http://127.0.0.1:5001"


def _resolved_environment(service, **environment):
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail("docker-compose is not on PATH: apt-get install docker-compose")
    names = ("SMTP_", "MAIL_FROM", "TRUSTED_PROXY_HOPS", "_PUBLIC_BASE_URL")
    env = {key: value for key, value in os.environ.items()
           if key not in REQUIRED and not any(part in key for part in names)}
    result = subprocess.run([executable, "-f", "docker-compose.yml", "config"], cwd=ROOT,
                            env={**env, **environment}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"][service]["environment"]
    return {key: str(value) for key, value in resolved.items()}


def test_the_benchmarks_run_postgresql_as_compose_runs_its_web_services(app_environment):
    """bench/ measures the PostgreSQL deployment under compose's web settings, which
    gunicorn.conf.py reads, and the image carries that file."""
    from bench.api_load import COMPOSE_WEB
    assert {name: app_environment[name] for name in COMPOSE_WEB} == {
        name: f"${{{name}:-{value}}}" for name, value in COMPOSE_WEB.items()}
    config = (ROOT / "gunicorn.conf.py").read_text()
    assert all(f'os.environ.get("{name}")' in config for name in COMPOSE_WEB)
    assert "gunicorn.conf.py" in (ROOT / "Dockerfile").read_text()
