"""Export, import, the seed and the operator commands, on SQLite and PostgreSQL."""
import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from services.commitments import seed as seed_module
from services.commitments.app import create_app
from shared.cli import main
from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    NOW, assert_problem, cdb, client, commitments_app, counts, history_rows, make, settings_for,
    token_headers, unguarded, writer)

SEED_FILE = Path("/work/shared/seeds/000_fe76bdd381d94064.txt")  # outside the repo: optional
COMMITMENT_3_ES = (  # the municipality's words, verbatim from the seed page
    "Instalar un grupo de trabajo multidisciplinario, preponderantemente ciudadano, con "
    "perspectiva de género y con facultades para colaborar, promover, conocer, revisar, evaluar, "
    "emitir opiniones y recomendaciones en la planeación y seguimiento del desarrollo rural del "
    "municipio de Chihuahua.")


@pytest.fixture
def full_plan(client, make, writer):
    """A plan with two commitments, milestones, an assessment and unicode everywhere."""
    plan = make.plan()
    first = make.commitment(plan["id"], 1, problem={"es": "Poca información", "en": ""})
    third = make.commitment(plan["id"], 3, ogp_id="MXCHH0003", status="in_progress",
                            institutions=[{"name": "Grupo Impulsor", "role": "monitoring_body"}])
    make.milestone(first["id"], title={"es": "=Diagnóstico", "en": "Diagnosis"})
    make.milestone(third["id"], status="met", progress_pct=None, date_met="2024-02-01")
    make.milestone(third["id"], planned_end=None, progress_pct=None, responsible=None)
    assert client.post(f"/api/v1/commitments/{third['id']}/assessments", headers=writer, json={
        "assessor": "Grupo Impulsor de Gobierno Abierto", "kind": "end_of_commitment",
        "assessed_on": "2024-06-30", "completion": "complete",
        "url": "https://www.opengovpartnership.org/"}).status_code == 201
    return plan


def export(client, plan_id, **headers):
    response = client.get(f"/api/v1/action-plans/{plan_id}/export", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_the_export_speaks_ogp_terms(client, full_plan):
    document = export(client, full_plan["id"]).get_json()
    assert document["format"] == "abierto.ogp-action-plan/1"
    assert document["member"] == "Chihuahua (Municipality), Mexico"
    third = document["commitments"][1]
    assert third["commitment_id"] == "MXCHH0003" and third["operational_status"] == "in_progress"
    assert third["open_gov_challenge_areas"] == ["public_participation"]
    assert third["institutions"] == [{"name": "Grupo Impulsor", "role": "monitoring_body"}]
    assert third["assessments"][0]["completion"] == "complete"
    assert "id" not in third and "id" not in third["milestones"][0]  # no database ids


def test_export_then_import_into_an_empty_database_gives_the_same_document(
        client, full_plan, database):
    """The round trip: nothing lost, nothing added, and the import is in the new history."""
    document = export(client, full_plan["id"]).get_json()
    fresh = database("commitments")
    other = create_app(settings_for(fresh), db=fresh, clock=lambda: NOW).test_client()
    response = other.post("/api/v1/action-plans/import", json=document,
                          headers=token_headers(fresh, {"commitments:write"}, name="importer"))
    assert response.status_code == 201, response.get_json()
    imported = response.get_json()
    assert [c["number"] for c in imported["commitments"]] == [1, 3]
    assert export(other, imported["id"]).get_json() == document
    rows = history_rows(fresh)
    assert len(rows) == 1 + 2 + 3 + 1 and {row.actor for row in rows} == {"importer"}
    assert other.get("/api/v1/history/verify").get_json() == {"ok": True, "entries": 7}


def test_a_large_plan_imports_beyond_the_usual_body_limit(client, writer, cdb):
    """A national plan's texts exceed the 64 KB other requests are held to."""
    long_text = {"es": "Diagnóstico participativo. " * 700, "en": ""}
    document = {"format": "abierto.ogp-action-plan/1", "member": "Mexico", "ordinal": 6,
                "title": {"es": "Sexto Plan de Acción", "en": ""},
                "commitments": [{"number": n, "title": {"es": f"Compromiso {n}", "en": ""},
                                 "problem": long_text} for n in range(1, 5)]}
    response = client.post("/api/v1/action-plans/import", json=document, headers=writer)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert len(response.get_json()["commitments"]) == 4
    oversized = {**document, "ordinal": 7, "commitments": document["commitments"] * 60}
    assert_problem(client.post("/api/v1/action-plans/import", json=oversized, headers=writer), 413)
    too_big_elsewhere = {"title": long_text | {"es": "x" * 70000}}
    assert_problem(client.patch("/api/v1/action-plans/1", json=too_big_elsewhere,
                                headers=writer), 413)


def test_importing_into_a_database_that_has_the_plan_is_a_conflict(client, writer, cdb, full_plan):
    document = export(client, full_plan["id"]).get_json()
    before = counts(cdb)
    assert_problem(client.post("/api/v1/action-plans/import", json=document, headers=writer), 409)
    assert counts(cdb) == before


@pytest.mark.parametrize("path, value, field", [
    (("format",), "something/2", "format"),
    (("commitments", 0, "open_gov_challenge_areas"), ["weather"], "commitments"),
    (("commitments", 0, "milestones", 0, "progress_pct"), 140, "commitments"),
    (("commitments", 1, "commitment_end"), "2020-01-01", "commitments"),
])
def test_an_invalid_document_imports_nothing(client, writer, cdb, full_plan, path, value, field):
    """A bad code deep inside still refuses the whole document (all or nothing)."""
    document = export(client, full_plan["id"]).get_json()
    document["ordinal"] = 2  # would not conflict
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    before = counts(cdb)
    assert_problem(client.post("/api/v1/action-plans/import", json=document, headers=writer),
                   422, field)
    assert counts(cdb) == before


def test_a_duplicate_number_inside_a_document_rolls_the_whole_import_back(
        client, writer, cdb, full_plan):
    document = export(client, full_plan["id"]).get_json()
    document["ordinal"] = 2
    document["commitments"][1]["number"] = 1
    document["commitments"][1]["commitment_id"] = None
    before = counts(cdb)
    assert_problem(client.post("/api/v1/action-plans/import", json=document, headers=writer), 409)
    assert counts(cdb) == before


def test_the_csv_export_has_a_header_and_one_row_per_milestone(client, full_plan):
    response = export(client, full_plan["id"], Accept="text/csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3
    assert [(r["commitment_number"], r["milestone_number"]) for r in rows] == [
        ("1", "1"), ("3", "1"), ("3", "2")]
    assert rows[0]["milestone_title_es"] == "'=Diagnóstico"  # not a spreadsheet formula
    assert rows[1]["commitment_id"] == "MXCHH0003" and rows[1]["milestone_status"] == "met"
    assert rows[2]["planned_end"] == "" and rows[1]["ogp_values"] == "civic_participation"


# --- seed and operator commands -------------------------------------------------------------

def test_the_seed_is_faithful_and_idempotent(client, cdb):
    first = seed_module.seed(cdb, NOW)
    assert seed_module.seed(cdb, NOW) == first
    assert counts(cdb)["commitments"] == 3 and counts(cdb)["action_plans"] == 1
    plan = client.get(f"/api/v1/action-plans/{first}").get_json()
    assert plan["submitted_on"] == "2023-10-11"
    assert (plan["period_start"], plan["period_end"]) == ("2023-10-01", "2024-05-31")
    assert plan["title"]["es"] == "Primer Plan de Acción de Gobierno Abierto del Municipio de Chihuahua"
    third = client.get("/api/v1/commitments/MXCHH0003").get_json()
    assert third["number"] == 3 and third["action"]["es"] == COMMITMENT_3_ES
    assert third["ogp_values"] == ["access_to_information", "civic_participation"]
    assert third["milestones"] == [] and third["status"] is None and third["start_date"] is None
    others = [client.get(f"/api/v1/commitments/{c['id']}").get_json()
              for c in plan["commitments"][:2]]
    assert [c["ogp_id"] for c in others] == [None, None]
    assert all(c["ogp_values"] == [] and c["challenge_areas"] == [] for c in others)
    assert {row.actor for row in history_rows(cdb)} == {"seed"}
    if SEED_FILE.exists():
        numbered = dict(re.findall(r"^(\d)\.- (.+)$", SEED_FILE.read_text(), re.MULTILINE))
        assert [c["action"]["es"] for c in others + [third]] == [
            numbered["1"].strip(), numbered["2"].strip(), numbered["3"].strip()]


def run_cli(db, *args, input_=None):
    return CliRunner().invoke(main, list(args), input=input_,
                              env={"COMMITMENTS_DATABASE_URL": db.url})


def test_history_verify_command_prints_json_and_fails_on_tampering(cdb, full_plan):
    result = run_cli(cdb, "history", "verify")
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"] is True
    target = history_rows(cdb)[3].id
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE history SET actor = 'x' WHERE id = {target}")
    result = run_cli(cdb, "history", "verify")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"ok": False, "first_bad": target}


def test_plan_import_command_loads_an_export_with_the_cli_actor(client, full_plan, database):
    document = export(client, full_plan["id"]).get_json()
    fresh = database("commitments")
    result = run_cli(fresh, "plan", "import", "-", input_=json.dumps(document))
    assert result.exit_code == 0, result.output
    assert {row.actor for row in history_rows(fresh)} == {"cli"}
    other = create_app(settings_for(fresh), db=fresh, clock=lambda: NOW).test_client()
    plan_id = other.get("/api/v1/action-plans").get_json()["items"][0]["id"]
    assert export(other, plan_id).get_json() == document
    again = run_cli(fresh, "plan", "import", "-", input_=json.dumps(document))
    assert again.exit_code == 1 and "already has an action plan" in again.output
    bad = run_cli(fresh, "plan", "import", "-", input_="{}")
    assert bad.exit_code == 1 and "member" in bad.output
