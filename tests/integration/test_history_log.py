"""The history as a transparency log (RFC 9162's manner), on both backends: signed heads,
proofs, and the README's stand-alone verifier run as written against a live app. A saved
head holds the operator to the past: a rewritten (even rehashed) or cut log, or a head
signed by another key, fails."""
import base64
import hashlib
import os
import re
import stat
import subprocess
import sys
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from werkzeug.serving import make_server

from services.commitments.app import create_app
from services.commitments.history import entry_hash
from services.commitments.models import HistoryEntry
from services.commitments.tracking import update_milestone, verify_history
from services.commitments.tree_heads import Signer, load_signer, message
from shared.config import EXIT_CONFIG
from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    NOW, PROBLEM, assert_problem, cdb, client, commitments_app, history_rows, make,
    settings_for, unguarded, writer)
from tests.integration.test_commitments_transfer import run_cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
VERIFIER = re.search(r"<!-- history-verifier:begin -->\n```python\n(.*?)```", README, re.S)[1]


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def included(index, size, leaf, path, root):
    """RFC 9162, 2.1.3.2: does the audit path lead from the leaf to the root?"""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


@pytest.fixture
def logged(client, make, writer):
    """A commitment with a milestone moved a few times: a log of some entries."""
    plan = make.plan()
    commitment = make.commitment(plan["id"], 3, ogp_id="MXCHH0003")
    milestone = make.milestone(commitment["id"])
    for pct in (50, 60, 70):
        assert client.patch(f"/api/v1/milestones/{milestone['id']}", headers=writer,
                            json={"progress_pct": pct}).status_code == 200
    return milestone


def move(cdb, milestone, pct):
    update_milestone(cdb, milestone["id"], {"progress_pct": pct}, "test", NOW, "http://x")


def test_the_head_is_signed_by_the_published_key(client, cdb, logged):
    head = client.get("/api/v1/history/head").get_json()
    key = client.get("/api/v1/history/key").get_json()
    assert head["size"] == len(history_rows(cdb)) and key["algorithm"] == "Ed25519"
    assert head["key_id"] == key["key_id"]
    public = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(key["public_key"]))
    public.verify(base64.b64decode(head["signature"]),
                  message(head["size"], head["root_hash"], head["timestamp"]))
    assert head["timestamp"] == "2024-03-01T18:00:00.000Z"


def test_every_entry_has_an_inclusion_proof_in_every_tree_that_holds_it(client, cdb, logged):
    size = len(history_rows(cdb))
    for entry_id in range(1, size + 1):
        for tree in range(entry_id, size + 1):
            proof = client.get(f"/api/v1/history/entries/{entry_id}/inclusion?size={tree}").get_json()
            root = client.get(f"/api/v1/history/consistency?first={tree}").get_json()["first_root_hash"]
            assert proof["root_hash"] == root and proof["leaf_index"] == entry_id - 1
            assert included(entry_id - 1, tree, bytes.fromhex(proof["leaf_hash"]),
                            [bytes.fromhex(h) for h in proof["audit_path"]], bytes.fromhex(root))


@pytest.fixture
def live(cdb):
    """run(saved, signer=None) -> the README verifier's (exit code, output) against the app
    served on a real socket, pinned to the key the app had when the test began."""
    servers = []

    def serve(signer):
        app = create_app(settings_for(cdb), db=cdb, clock=lambda: NOW,
                         **({"signer": signer} if signer else {}))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", app.extensions["abierto"].signer

    _, pinned = serve(None)
    key = pinned.describe()["public_key"]

    def run(saved, signer=None):
        url, _ = serve(signer)
        done = subprocess.run([sys.executable, "-c", VERIFIER, url, key,
                               f"{saved['size']}:{saved['root_hash']}"],
                              capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout + done.stderr

    yield run
    for server in servers:
        server.shutdown()


def rewrite(cdb, entry_id):
    """The forger's edit: change an entry and recompute its hash and every later one."""
    with unguarded(cdb), cdb.transaction() as session:
        entries = session.query(HistoryEntry).filter(HistoryEntry.id >= entry_id).order_by(
            HistoryEntry.id).all()
        previous = session.get(HistoryEntry, entry_id - 1).hash
        entries[0].justification = "Reescrito"
        for entry in entries:
            entry.previous_hash = previous
            entry.hash = previous = entry_hash(
                {c.name: getattr(entry, c.name) for c in HistoryEntry.__table__.c})


def test_the_readme_verifier_accepts_a_log_that_extends_the_saved_head(client, cdb, logged,
                                                                       live):
    saved = client.get("/api/v1/history/head").get_json()
    assert live(saved)[0] == 0
    move(cdb, logged, 80)
    code, output = live(saved)
    assert code == 0 and f"OK: {saved['size'] + 1} entries" in output
    check = client.get(f"/api/v1/history/verify?size={saved['size']}&root={saved['root_hash']}")
    assert check.get_json() == {"ok": True, "size": saved["size"],
                                "root_hash": saved["root_hash"], "entries": saved["size"] + 1}
    against = run_cli(cdb, "history", "verify", "--against",
                      f"{saved['size']}:{saved['root_hash']}")
    assert against.exit_code == 0, against.output


def test_a_rewritten_and_rehashed_past_passes_the_chain_but_not_the_saved_head(client, cdb,
                                                                               logged, live):
    saved = client.get("/api/v1/history/head").get_json()
    move(cdb, logged, 80)
    rewrite(cdb, 3)
    assert verify_history(cdb) == {"ok": True, "entries": saved["size"] + 1}  # the old check
    code, output = live(saved)
    assert code == 1 and "FAILED" in output
    check = client.get(f"/api/v1/history/verify?size={saved['size']}&root={saved['root_hash']}")
    assert check.get_json()["ok"] is False
    against = run_cli(cdb, "history", "verify", "--against",
                      f"{saved['size']}:{saved['root_hash']}")
    assert against.exit_code == 1 and '"ok": false' in against.output


def test_a_truncated_log_fails_against_the_saved_head(client, cdb, logged, live):
    saved = client.get("/api/v1/history/head").get_json()
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.exec_driver_sql(f"DELETE FROM history WHERE id >= {saved['size'] - 1}")
    assert live(saved)[0] != 0
    check = client.get(f"/api/v1/history/verify?size={saved['size']}&root={saved['root_hash']}")
    assert check.get_json() == {"ok": False, "size": saved["size"],
                                "root_hash": saved["root_hash"], "entries": saved["size"] - 2}


def test_a_head_signed_by_another_key_fails(client, logged, live):
    saved = client.get("/api/v1/history/head").get_json()
    code, output = live(saved, signer=Signer(Ed25519PrivateKey.generate()))
    assert code != 0 and "InvalidSignature" in output


def test_no_head_is_signed_over_a_broken_chain(client, cdb, logged):
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE history SET actor = 'otro' WHERE id = 2")
    assert_problem(client.get("/api/v1/history/head"), 409)


@pytest.mark.parametrize("path, status", [
    ("/api/v1/history/verify?size=3", 422),
    ("/api/v1/history/verify?root=" + "a" * 64, 422),
    ("/api/v1/history/verify?size=3&root=xyz", 422),
    ("/api/v1/history/verify?size=0&root=" + "a" * 64, 422),
    ("/api/v1/history/verify?size=3&root=" + "a" * 64 + "&extra=1", 422),
    ("/api/v1/history/consistency", 422),
    ("/api/v1/history/consistency?first=9&second=2", 422),
    ("/api/v1/history/consistency?first=1&second=999", 404),
    ("/api/v1/history/consistency?first=999", 404),
    ("/api/v1/history/entries/999/inclusion", 404),
    ("/api/v1/history/entries/1/inclusion?size=999", 404),
    ("/api/v1/history/entries/1/inclusion?size=-1", 422),
])
def test_bad_questions_get_a_problem(client, cdb, logged, path, status):
    before = history_rows(cdb)
    assert_problem(client.get(path), status)
    assert history_rows(cdb) == before


def test_keygen_writes_a_private_key_once(cdb, tmp_path):
    path = tmp_path / "keys" / "history.key"
    made = run_cli(cdb, "history", "keygen", str(path))
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    signer = load_signer(replace(settings_for(cdb), history_signing_key_file=path))
    assert base64.b64encode(signer.public_key).decode() in made.stdout
    again = run_cli(cdb, "history", "keygen", str(path))
    assert again.exit_code == 1 and "never overwritten" in again.output


def test_outside_development_a_missing_key_stops_the_app(cdb, tmp_path, capsys):
    settings = replace(settings_for(cdb), environment="production",
                       secret_key="s" * 48, history_signing_key_file=tmp_path / "none.key")
    with pytest.raises(SystemExit) as stopped:
        create_app(settings, db=cdb)
    assert stopped.value.code == EXIT_CONFIG
    assert "HISTORY_SIGNING_KEY_FILE" in capsys.readouterr().err
    assert not (tmp_path / "none.key").exists()


def test_the_commitment_page_shows_the_verified_signed_head(client, logged):
    head = client.get("/api/v1/history/head").get_json()
    page = client.get("/commitments/MXCHH0003").get_data(as_text=True)
    assert f"Historial verificado: el registro público completo, de {head['size']} entradas" in page
    assert f"Cabeza firmada (Ed25519) del registro de {head['size']} entradas" in page
    assert head["root_hash"] in page
    assert f"/api/v1/history/verify?size={head['size']}&amp;root={head['root_hash']}" in page


def test_a_milestone_change_carries_the_head_of_the_log_it_ends(client, cdb, writer, logged,
                                                                  outbox_facts):
    assert client.patch(f"/api/v1/milestones/{logged['id']}", headers=writer,
                        json={"progress_pct": 90}).status_code == 200
    carried = outbox_facts(cdb)[-1]["data"]["history_head"]
    head = client.get("/api/v1/history/head").get_json()
    assert (carried["size"], carried["root_hash"]) == (head["size"], head["root_hash"])
    assert client.get(carried["verify_url"].removeprefix("http://abierto.test")).get_json()["ok"]


@pytest.mark.parametrize("path", ["/api/v1/history/consistency?first=1",
                                  "/api/v1/history/entries/1/inclusion",
                                  "/api/v1/history/verify?size=1&root=" + "0" * 64])
def test_proofs_hash_the_whole_history_so_one_client_gets_only_its_share(
        commitments_app, path):  # noqa: F811
    _, db, settings = commitments_app
    client = create_app(replace(settings, public_rate_limit="2/minute"), db=db).test_client()
    address = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"}
    answers = [client.get(path, environ_base=address).status_code for _ in range(3)]
    assert 429 not in answers[:2] and answers[2] == 429
