"""The public history is complete, read-only over HTTP, and shows any tampering, on both backends."""
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.commitments import history
from services.commitments.app import create_app
from services.commitments.history import GENESIS, Verifier, entry_hash
from services.commitments.models import HistoryEntry
from services.commitments.tracking import add_milestone, update_milestone, verify_history
from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    NOW, cdb, client, commitments_app, history_rows, make, settings_for, unguarded, writer)


@pytest.fixture
def tracked(client, make, writer):
    """A plan, a commitment with a milestone, one justified move and one assessment."""
    plan = make.plan()
    commitment = make.commitment(plan["id"], 3, ogp_id="MXCHH0003")
    milestone = make.milestone(commitment["id"])
    assert client.patch(f"/api/v1/milestones/{milestone['id']}", headers=writer, json={
        "status": "met", "justification": "Instalado"}).status_code == 200
    assert client.post(f"/api/v1/commitments/{commitment['id']}/assessments", headers=writer, json={
        "assessor": "IRM", "kind": "irm", "assessed_on": "2024-09-01"}).status_code == 201
    return plan, commitment, milestone


def test_a_commitments_history_lists_every_change_oldest_first(client, tracked):
    """Its creation, its milestone's creation and move, its assessment — with every field."""
    plan, commitment, milestone = tracked
    page = client.get("/api/v1/commitments/MXCHH0003/history").get_json()
    assert page["total"] == 4 and page["page"] == 1
    entries = page["items"]
    assert [(e["subject"]["type"], e["field"]) for e in entries] == [
        ("commitment", "created"), ("milestone", "created"), ("milestone", "status"),
        ("assessment", "created")]
    assert entries[0]["new_value"]["ogp_id"] == "MXCHH0003"
    assert entries[2]["old_value"] == "in_progress" and entries[2]["new_value"] == "met"
    assert entries[2]["justification"] == "Instalado"
    for entry in entries:
        assert set(entry) == {"id", "occurred_at", "commitment_id", "subject", "field",
                              "old_value", "new_value", "justification", "evidence", "actor",
                              "hash", "previous_hash"}
        assert entry["actor"] == "municipio" and entry["commitment_id"] == commitment["id"]
        assert entry["hash"] == entry_hash(entry | {"subject_type": entry["subject"]["type"],
                                                    "subject_id": entry["subject"]["id"]})
    second = client.get("/api/v1/commitments/MXCHH0003/history?per_page=3&page=2").get_json()
    assert [e["id"] for e in second["items"]] == [entries[3]["id"]]


def test_the_chain_verifies_and_links_each_entry_to_the_one_before(client, cdb, tracked):
    result = client.get("/api/v1/history/verify").get_json()
    assert result == {"ok": True, "entries": len(history_rows(cdb))}
    with cdb.engine.connect() as connection:
        links = connection.execute(text("SELECT previous_hash, hash FROM history ORDER BY id")).all()
    assert links[0][0] == GENESIS
    assert all(later[0] == earlier[1] for earlier, later in zip(links, links[1:]))


@pytest.mark.parametrize("statement", [
    "UPDATE history SET actor = 'otro' WHERE id = :id", "DELETE FROM history WHERE id = :id"])
def test_the_database_refuses_to_edit_or_delete_an_entry(client, cdb, tracked, statement):
    """Its triggers refuse, whoever connects: the entry stays as it was and the chain holds."""
    rows = history_rows(cdb)
    with pytest.raises(DBAPIError, match="the history is append-only"):
        with cdb.engine.begin() as connection:
            connection.execute(text(statement), {"id": rows[1].id})
    assert history_rows(cdb) == rows
    assert client.get("/api/v1/history/verify").get_json() == {"ok": True, "entries": len(rows)}


@pytest.mark.parametrize("column, value", [
    ("new_value", """'"in_progress"'"""), ("actor", "'otro'"), ("justification", "'Sin acta'")])
def test_tampering_with_one_row_makes_verify_name_it(client, cdb, tracked, column, value):
    """An UPDATE behind the API's back breaks that entry's hash: verify answers with its id."""
    target = [row for row in history_rows(cdb) if row.field == "status"][0].id
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.execute(text(f"UPDATE history SET {column} = {value} WHERE id = :id"),
                           {"id": target})
    assert client.get("/api/v1/history/verify").get_json() == {"ok": False, "first_bad": target}


def test_a_rehashed_forgery_is_caught_at_the_next_link(client, cdb, tracked):
    """Recomputing the forged row's own hash still breaks the following entry's link."""
    rows = history_rows(cdb)
    with unguarded(cdb), cdb.transaction() as session:
        entry = session.get(HistoryEntry, rows[2].id)
        entry.justification = "Falsificado"
        entry.hash = entry_hash({c.name: getattr(entry, c.name) for c in HistoryEntry.__table__.c})
    assert client.get("/api/v1/history/verify").get_json() == {"ok": False, "first_bad": rows[3].id}


def test_a_deleted_entry_breaks_the_chain(client, cdb, tracked):
    rows = history_rows(cdb)
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.execute(text("DELETE FROM history WHERE id = :id"), {"id": rows[2].id})
    assert client.get("/api/v1/history/verify").get_json() == {"ok": False, "first_bad": rows[3].id}


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
@pytest.mark.parametrize("path", ["/api/v1/commitments/MXCHH0003/history", "/api/v1/history/verify",
                                  "/api/v1/action-plans/1/history"])
def test_the_history_cannot_be_written_over_http(client, writer, tracked, method, path):
    response = getattr(client, method)(path, json={}, headers=writer)
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_concurrent_changes_keep_one_unbroken_chain(client, cdb, tracked):
    """Writers racing on two milestones serialise on the chain's lock: no fork, no lost entry."""
    _, commitment, first = tracked
    other = add_milestone(cdb, commitment["id"], {"title": {"es": "Segundo", "en": ""},
                                                  "status": "scheduled"}, "test", NOW)
    before = len(history_rows(cdb))
    errors = []

    def move(milestone_id, start):
        try:
            for pct in range(start, start + 8):
                update_milestone(cdb, milestone_id, {"progress_pct": pct}, "test", NOW,
                                 "http://abierto.test")
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=move, args=(first["id"], 50)),
               threading.Thread(target=move, args=(other.id, 10))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(history_rows(cdb)) == before + 16
    assert client.get("/api/v1/history/verify").get_json() == {"ok": True, "entries": before + 16}


# --- Public reads verify incrementally (history.Verifier) -------------------------------

@pytest.fixture
def later(cdb):
    """(client, move): a second app on the same database whose clock `move(minutes)` advances."""
    moment = [NOW]
    app = create_app(settings_for(cdb), db=cdb, clock=lambda: moment[0])

    def move(minutes):
        moment[0] += timedelta(minutes=minutes)
    return app.test_client(), move


def tamper(cdb, entry_id, column="actor", value="'otro'"):
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.execute(text(f"UPDATE history SET {column} = {value} WHERE id = :id"),
                           {"id": entry_id})


def test_entries_added_after_a_check_are_verified_by_the_next_one(client, cdb, writer, tracked):
    _, _, milestone = tracked
    assert client.get("/api/v1/history/verify").get_json()["ok"]
    assert client.patch(f"/api/v1/milestones/{milestone['id']}", headers=writer,
                        json={"progress_pct": 90}).status_code == 200
    newest = history_rows(cdb)[-1].id
    assert client.get("/api/v1/history/verify").get_json() == {"ok": True, "entries": newest}
    assert client.patch(f"/api/v1/milestones/{milestone['id']}", headers=writer,
                        json={"progress_pct": 95}).status_code == 200
    tamper(cdb, newest + 1)
    assert client.get("/api/v1/history/verify").get_json() == {"ok": False, "first_bad": newest + 1}


@pytest.mark.parametrize("rehash", [False, True])
def test_the_remembered_entry_edited_is_caught_by_the_next_check(client, cdb, tracked, rehash):
    """Even rehashed: the newest entry's own hash is consistent, but not the one remembered."""
    last = history_rows(cdb)[-1].id
    assert client.get("/api/v1/history/verify").get_json() == {"ok": True, "entries": last}
    with unguarded(cdb), cdb.transaction() as session:
        entry = session.get(HistoryEntry, last)
        entry.justification = "Falsificado"
        if rehash:
            entry.hash = entry_hash({c.name: getattr(entry, c.name)
                                     for c in HistoryEntry.__table__.c})
    assert client.get("/api/v1/history/verify").get_json() == {"ok": False, "first_bad": last}
    assert "la primera entrada alterada es la %d" % last in client.get(
        "/commitments/MXCHH0003").get_data(as_text=True)


def test_a_cut_tail_is_caught_by_the_next_check(client, cdb, tracked):
    rows = history_rows(cdb)
    assert client.get("/api/v1/history/verify").get_json()["ok"]
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.execute(text("DELETE FROM history WHERE id >= :id"), {"id": rows[-2].id})
    assert client.get("/api/v1/history/verify").get_json() == {"ok": False, "first_bad": rows[-2].id}


def test_an_entry_before_the_remembered_one_is_caught_by_every_whole_check(cdb, tracked, later):
    """Between whole checks a public read hashes only new entries (and says so on the page);
    `abierto history verify` and the next periodic whole check hash everything."""
    client, move = later
    rows = history_rows(cdb)
    assert client.get("/api/v1/history/verify").get_json() == {"ok": True, "entries": len(rows)}
    tamper(cdb, rows[1].id)
    assert verify_history(cdb) == {"ok": False, "first_bad": rows[1].id}  # the CLI's check
    move(Verifier.FULL_EVERY.total_seconds() / 60 - 1)
    assert client.get("/api/v1/history/verify").get_json()["ok"]  # not rehashed yet
    move(1)
    assert client.get("/api/v1/history/verify").get_json() == {"ok": False, "first_bad": rows[1].id}


def test_the_page_says_when_the_whole_chain_was_last_hashed(cdb, tracked, later):
    client, move = later
    assert "Cadena completa recalculada el 2024-03-01 12:00" in client.get(
        "/commitments/MXCHH0003").get_data(as_text=True)  # NOW in Chihuahua
    move(5)
    assert "recomputed on 2024-03-01 12:00" in client.get(
        "/commitments/MXCHH0003?lang=en").get_data(as_text=True)
    move(5)
    assert "recomputed on 2024-03-01 12:10" in client.get(
        "/commitments/MXCHH0003?lang=en").get_data(as_text=True)


def test_concurrent_first_checks_hash_the_whole_chain_once(cdb, tracked, monkeypatch):
    """A check that arrives while another hashes the whole chain waits, then hashes only what is new."""
    verifier, whole_walks = Verifier(), []
    first_inside, second_started = threading.Event(), threading.Event()
    real_walk = history._walk

    def walk(session, start, expect=None):
        if start == history.START:
            whole_walks.append(start)
            first_inside.set()
            second_started.wait(5)
            time.sleep(0.2)  # long enough for the second check to reach the verifier
        return real_walk(session, start, expect)

    monkeypatch.setattr(history, "_walk", walk)
    results = []

    def second():
        first_inside.wait(5)
        second_started.set()
        results.append(verifier.check(cdb, NOW)[0])

    thread = threading.Thread(target=second)
    thread.start()
    results.append(verifier.check(cdb, NOW)[0])
    thread.join()
    entries = len(history_rows(cdb))
    assert results == [{"ok": True, "entries": entries}] * 2
    assert len(whole_walks) == 1
