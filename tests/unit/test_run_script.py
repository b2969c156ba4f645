"""`make run` (scripts/run.sh) starts exactly the Procfile's processes. No Redis or services
needed: scripts/processes.sh, which run.sh hands to honcho, is asked alone and starts nothing."""
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def procfile_names():
    lines = (ROOT / "Procfile").read_text().splitlines()
    return [line.partition(":")[0].strip() for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


def started(**smtp):
    """What `make run` starts with these SMTP settings and none from this shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("SMTP_HOST", "SMTP_PORT")}
    result = subprocess.run([str(ROOT / "scripts" / "processes.sh")], env={**env, **smtp},
                            cwd="/", capture_output=True, text=True, check=True, timeout=10)
    return result.stdout.split()


@pytest.mark.parametrize("smtp", [{}, {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "8025"}],
                         ids=["no SMTP settings", "the sink's own address"])
def test_with_local_mail_every_procfile_process_starts(smtp):
    assert started(**smtp) == procfile_names()


@pytest.mark.parametrize("smtp", [{"SMTP_HOST": "smtp.example.org"},
                                  {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525"}],
                         ids=["another host", "another local port"])
def test_with_mail_sent_elsewhere_all_but_the_sink_start(smtp):
    assert "mailsink" in procfile_names()
    assert started(**smtp) == [name for name in procfile_names() if name != "mailsink"]


def test_run_sh_hands_honcho_what_processes_sh_prints():
    """A second list in run.sh would bypass the one checked above."""
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    assert re.findall(r"^processes=.*?(?=\s*#|$)", run_sh, re.MULTILINE) == [
        "processes=$(scripts/processes.sh)"]
    assert re.findall(r"^\s*honcho start.*$", run_sh, re.MULTILINE) == ["honcho start $processes"]
