"""Services declare themselves (an `abierto.services` entry point each); what shared/ builds
from the declarations agrees with the Procfile, the one list of processes."""
from pathlib import Path

from shared import config, services
from shared.devstack import Stack, procfile_commands

ROOT = Path(__file__).resolve().parents[2]


def test_every_service_is_found_web_services_in_port_order():
    assert list(services.declared()) == ["registration", "commitments", "notifications",
                                         "mailsink"]
    assert services.with_database() == ("registration", "commitments", "notifications")


def test_each_web_app_runs_in_the_procfile_on_its_declared_port():
    procfile = procfile_commands()
    for name in Stack.WEB:
        declared = services.declared()[name]
        assert procfile[name] == (f"gunicorn --bind ${{BIND_HOST:-127.0.0.1}}:{declared.port} "
                                  f"'{declared.app}()'")


def test_each_service_with_an_outbox_has_its_relay_in_the_procfile():
    publishers = services.names(lambda declaration: declaration.publishes)
    assert publishers == services.with_database()
    for name in publishers:
        assert procfile_commands()[f"relay-{name}"] == f"abierto relay {name}"


def test_a_peers_urls_default_to_its_declared_port_and_follow_the_old_variables(monkeypatch):
    for name in ("COMMITMENTS_API_URL", "COMMITMENTS_PUBLIC_BASE_URL", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    peer = config.load("notifications").peers["commitments"]
    assert (peer.public_url, peer.api_url) == ("http://127.0.0.1:5002", "http://127.0.0.1:5002")
    monkeypatch.setenv("COMMITMENTS_API_URL", "http://commitments:5002/")
    monkeypatch.setenv("COMMITMENTS_PUBLIC_BASE_URL", "https://compromisos.example.org")
    peer = config.load("registration").peers["commitments"]
    assert (peer.public_url, peer.api_url) == ("https://compromisos.example.org",
                                               "http://commitments:5002")
    assert config.load("commitments").public_base_url == "https://compromisos.example.org"


def test_the_stack_starts_the_procfiles_commands_on_free_ports(tmp_path):
    stack = Stack(tmp_path, "redis://127.0.0.1:6379/0", 2525, {})
    procfile = procfile_commands()
    assert list(stack.commands) == [name for name in procfile if name != "mailsink"]
    for name, command in stack.commands.items():
        line = procfile[name]
        if name in Stack.WEB:
            port = services.declared()[name].port
            line = line.replace(f"${{BIND_HOST:-127.0.0.1}}:{port}",
                                f"127.0.0.1:{stack.ports[name]} --workers 2")
        if name == "worker":  # named as its set's host would name it
            line += " --hostname e2e@%h"
        assert [Path(command[0]).name, *command[1:]] == line.replace("'", "").split()
