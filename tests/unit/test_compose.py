"""docker-compose.yml stays in step with the Procfile (the local run); no Docker needed."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SETUP_COMMAND = "abierto db upgrade && abierto seed"
INFRASTRUCTURE = {"redis", "postgres", "mailsink", "migrate"}
# Procfile processes with no compose counterpart of the same kind: the local
# SMTP sink is replaced by the Mailpit service that keeps its name.
LOCAL_ONLY = {"mailsink"}


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


def test_docker_compose_accepts_the_file():
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail(
            "docker-compose is not on PATH: install Debian's docker-compose package "
            "(apt-get install docker-compose) to validate docker-compose.yml"
        )
    result = subprocess.run(
        [executable, "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr or result.stdout
