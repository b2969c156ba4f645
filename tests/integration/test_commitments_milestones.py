"""Milestones move and assessments accumulate: history, `milestone.changed`, and the rules."""
import pytest

from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    BASE_URL, assert_problem, cdb, client, commitments_app, counts, history_rows, make,
    milestone_body, writer)

EVIDENCE = [{"title": "Acta de instalación", "url": "https://chihuahua.gob.mx/acta.pdf"}]


@pytest.fixture
def milestone(make):
    """A commitment (OGP id MXCHH0003) with one milestone in progress at 40 %."""
    plan = make.plan()
    commitment = make.commitment(plan["id"], 3, ogp_id="MXCHH0003")
    return make.milestone("MXCHH0003") | {"commitment": commitment}


def patch(client, writer, milestone_id, body):
    return client.patch(f"/api/v1/milestones/{milestone_id}", json=body, headers=writer)


def test_a_milestone_is_added_with_its_fields_and_derived_delay(client, milestone):
    """Planned end 2024-01-31, in progress, and the clock at 2024-03-01: delayed."""
    body = milestone_body()
    for name in ("title", "planned_start", "planned_end", "status", "progress_pct", "responsible"):
        assert milestone[name] == body[name], name
    assert milestone["date_met"] is None and milestone["delayed"] is True
    shown = client.get(f"/api/v1/milestones/{milestone['id']}").get_json()
    assert shown["delayed"] is True
    commitment = client.get("/api/v1/commitments/MXCHH0003").get_json()
    assert [m["id"] for m in commitment["milestones"]] == [milestone["id"]]
    assert commitment["milestones"][0]["delayed"] is True and commitment["progress_pct"] == 40


def test_met_or_cancelled_or_not_yet_due_milestones_are_not_delayed(make, milestone):
    commitment_id = milestone["commitment"]["id"]
    assert make.milestone(commitment_id, status="met")["delayed"] is False
    assert make.milestone(commitment_id, status="cancelled")["delayed"] is False
    assert make.milestone(commitment_id, planned_end="2024-03-01")["delayed"] is False  # due today
    assert make.milestone(commitment_id, planned_end=None)["delayed"] is False


def test_progress_rolls_up_from_the_milestones(client, make):
    """Average with null progress as 100 when met and 0 otherwise; cancelled ones left out."""
    commitment = make.commitment(make.plan()["id"])
    ref = commitment["id"]
    assert client.get(f"/api/v1/commitments/{ref}").get_json()["progress_pct"] is None
    make.milestone(ref, progress_pct=None, status="met")         # 100
    make.milestone(ref, progress_pct=None, status="scheduled")   # 0
    make.milestone(ref, progress_pct=25)                         # 25
    make.milestone(ref, progress_pct=10, status="cancelled")     # left out
    assert client.get(f"/api/v1/commitments/{ref}").get_json()["progress_pct"] == 42  # 41.67


def test_patching_a_milestone_records_history_and_emits_one_milestone_changed(
        client, writer, cdb, milestone, outbox_facts):
    """Before/after, the justification, evidence, minor flag and actor travel in one fact."""
    history_before = len(history_rows(cdb))
    response = patch(client, writer, milestone["id"], {
        "status": "met", "progress_pct": 100, "date_met": "2024-02-15",
        "justification": "Se instaló el grupo el 15 de febrero.", "evidence": EVIDENCE,
        "minor": True})
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert (changed["status"], changed["progress_pct"], changed["date_met"]) == (
        "met", 100, "2024-02-15")
    assert changed["delayed"] is False

    [fact] = outbox_facts(cdb)
    commitment_id = milestone["commitment"]["id"]
    assert fact["type"] == "milestone.changed"
    assert fact["subject"] == f"commitments/{commitment_id}/milestones/{milestone['id']}"
    data = fact["data"]
    assert data["before"] == {"status": "in_progress", "progress_pct": 40,
                              "planned_end": "2024-01-31", "date_met": None}
    assert data["after"] == {"status": "met", "progress_pct": 100,
                             "planned_end": "2024-01-31", "date_met": "2024-02-15"}
    assert data["justification"] == "Se instaló el grupo el 15 de febrero."
    assert data["evidence"] == EVIDENCE and data["minor"] is True and data["actor"] == "municipio"
    assert data["milestone"] == {"id": milestone["id"], "title": milestone["title"]}
    assert data["commitment"] == {
        "id": commitment_id, "ogp_id": "MXCHH0003", "number": 3,
        "title": milestone["commitment"]["title"], "status": None, "progress_pct": 100,
        "url": f"{BASE_URL}/api/v1/commitments/{commitment_id}",
        "history_url": f"{BASE_URL}/api/v1/commitments/{commitment_id}/history",
        "page_url": f"{BASE_URL}/commitments/{commitment_id}",  # for people: the page
        "history_page_url": f"{BASE_URL}/commitments/{commitment_id}#s-history"}

    entries = client.get("/api/v1/commitments/MXCHH0003/history?per_page=100").get_json()["items"]
    new = entries[-3:]
    assert len(history_rows(cdb)) == history_before + 3
    assert {e["field"]: (e["old_value"], e["new_value"]) for e in new} == {
        "status": ("in_progress", "met"), "progress_pct": (40, 100),
        "date_met": (None, "2024-02-15")}
    for entry in new:
        assert entry["subject"] == {"type": "milestone", "id": milestone["id"]}
        assert entry["justification"] == data["justification"] and entry["evidence"] == EVIDENCE
        assert entry["actor"] == "municipio"


def test_progress_alone_needs_no_justification_and_minor_defaults_to_false(
        client, writer, cdb, milestone, outbox_facts):
    response = patch(client, writer, milestone["id"], {"progress_pct": 60})
    assert response.status_code == 200
    [fact] = outbox_facts(cdb)
    assert fact["data"]["minor"] is False and fact["data"]["justification"] is None


@pytest.mark.parametrize("body, field", [
    ({"status": "met"}, "justification"),
    ({"planned_end": "2024-04-30", "justification": "   "}, "justification"),
    ({"date_met": "2024-02-01", "progress_pct": 100}, "justification"),
    ({"progress_pct": 101}, "progress_pct"),
    ({"progress_pct": 50.5}, "progress_pct"),
    ({"progress_pct": "50"}, "progress_pct"),
    ({"progress_pct": -1}, "progress_pct"),
    ({"planned_end": "2023-09-30", "justification": "Recorte"}, "planned_end"),
    ({"status": "finished", "justification": "x"}, "status"),
    ({"status": None, "justification": "x"}, "status"),
    ({"progress_pct": 50, "evidence": [{"title": "x", "url": "javascript:alert(1)"}]}, "evidence"),
    ({"progress_pct": 50, "evidence": [{"title": "x", "url": "ftp://example.org/a"}]}, "evidence"),
    ({"progress_pct": 50, "title": {"es": "otro"}}, "title"),
])
def test_a_refused_milestone_change_writes_nothing(client, writer, cdb, milestone, body, field):
    """No justification for a status or date, progress out of 0–100, end before start, bad
    codes or non-web evidence: a 422 naming the field, and no history and no outbox row."""
    before = counts(cdb)
    assert_problem(patch(client, writer, milestone["id"], body), 422, field)
    assert counts(cdb) == before
    assert client.get(f"/api/v1/milestones/{milestone['id']}").get_json()["progress_pct"] == 40


def test_a_change_that_changes_nothing_records_nothing(client, writer, cdb, milestone):
    before = counts(cdb)
    response = patch(client, writer, milestone["id"], {
        "status": "in_progress", "progress_pct": 40, "planned_end": "2024-01-31",
        "justification": "sin cambios", "evidence": EVIDENCE})
    assert response.status_code == 200
    assert patch(client, writer, milestone["id"], {}).status_code == 200
    assert counts(cdb) == before


@pytest.mark.parametrize("overrides, field", [
    ({"planned_end": "2023-09-01"}, "planned_end"),
    ({"progress_pct": 101}, "progress_pct"),
    ({"progress_pct": 50.5}, "progress_pct"),
    ({"progress_pct": "50"}, "progress_pct"),
    ({"status": "delayed"}, "status"),
    ({"title": ...}, "title"),
])
def test_an_invalid_new_milestone_is_a_422(client, writer, cdb, milestone, overrides, field):
    before = counts(cdb)
    response = client.post("/api/v1/commitments/MXCHH0003/milestones", headers=writer,
                           json=milestone_body(**overrides))
    assert_problem(response, 422, field)
    assert counts(cdb) == before


def test_a_whole_number_written_as_50_0_is_50(client, writer, milestone):
    """JSON has one kind of number, and the document's `integer` takes 50.0."""
    response = patch(client, writer, milestone["id"], {"progress_pct": 50.0})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["progress_pct"] == 50


def test_assessments_are_appended_and_announced(client, writer, cdb, milestone, outbox_facts):
    """Each rating is kept; "Completed" is read as OGP's `complete`."""
    first = client.post("/api/v1/commitments/MXCHH0003/assessments", headers=writer, json={
        "assessor": "Grupo Impulsor de Gobierno Abierto", "kind": "end_of_commitment",
        "assessed_on": "2024-06-30", "completion": "Completed",
        "did_it_open_government": "marginal", "notes": {"es": "Informe de cierre"},
        "url": "https://www.opengovpartnership.org/members/chihuahua-mexico/"})
    assert first.status_code == 201, first.get_json()
    assessment = first.get_json()
    assert assessment["completion"] == "complete" and assessment["verifiable"] is None
    assert assessment["notes"] == {"es": "Informe de cierre", "en": ""}
    second = client.post("/api/v1/commitments/MXCHH0003/assessments", headers=writer, json={
        "assessor": "IRM", "kind": "irm", "assessed_on": "2024-09-01", "completion": "substantial"})
    assert second.status_code == 201

    shown = client.get("/api/v1/commitments/MXCHH0003").get_json()["assessments"]
    assert [a["completion"] for a in shown] == ["complete", "substantial"]
    facts = outbox_facts(cdb)
    assert [f["type"] for f in facts] == ["assessment.recorded"] * 2
    assert facts[0]["data"]["assessment"]["id"] == assessment["id"]
    assert facts[0]["data"]["assessment"]["completion"] == "complete"
    entries = client.get("/api/v1/commitments/MXCHH0003/history").get_json()["items"]
    assert [e["subject"]["type"] for e in entries[-2:]] == ["assessment", "assessment"]


@pytest.mark.parametrize("overrides, field", [
    ({"kind": "peer_review"}, "kind"),
    ({"completion": "halfway"}, "completion"),
    ({"did_it_open_government": "yes"}, "did_it_open_government"),
    ({"verifiable": "maybe"}, "verifiable"),
    ({"potential_for_results": "huge"}, "potential_for_results"),
    ({"url": "file:///etc/passwd"}, "url"),
    ({"url": "http://intranet/acta.pdf"}, "url"),  # the document's pattern: a host with a TLD
    ({"url": "http://10.0.0.7/acta.pdf"}, "url"),
    ({"assessed_on": "2024-02-30"}, "assessed_on"),
    ({"assessor": ...}, "assessor"),
])
def test_an_invalid_assessment_is_a_422(client, writer, cdb, milestone, overrides, field):
    body = {"assessor": "IRM", "kind": "irm", "assessed_on": "2024-09-01", **overrides}
    body = {k: v for k, v in body.items() if v is not ...}
    before = counts(cdb)
    assert_problem(client.post("/api/v1/commitments/MXCHH0003/assessments", headers=writer,
                               json=body), 422, field)
    assert counts(cdb) == before
