"""The README's shell examples, pasted in order on a fresh stack (as `make run` leaves it):
each block runs under `set -e` and every curl in it must answer 2xx."""
import re
import subprocess

from shared.devstack import ROOT

BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
# The blocks that start the stack or the suite are how to get here, not examples to run.
NOT_EXAMPLES = re.compile(r"^\s*(make|docker)\b", re.M)
STRICT = """set -euo pipefail
curl() { command curl --fail-with-body --max-time 10 "$@"; }  # a 4xx or 5xx stops the block
"""


def examples(text):
    return [block for block in BLOCK.findall(text) if not NOT_EXAMPLES.search(block)]


def test_the_readme_has_examples_to_run():
    assert examples((ROOT / "README.md").read_text())


def test_the_readme_examples_answer_on_a_fresh_stack(fresh_stack):
    script = "\n".join(examples((ROOT / "README.md").read_text()))
    for service, port in (("registration", 5001), ("commitments", 5002), ("notifications", 5003)):
        script = script.replace(f"http://127.0.0.1:{port}", fresh_stack.url(service))
    done = subprocess.run(["bash", "-c", STRICT + script], env=fresh_stack.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
