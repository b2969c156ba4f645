"""What citizens and municipal systems see of plans and commitments, on SQLite and PostgreSQL."""
import pytest

from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    BASE_URL, assert_problem, cdb, client, commitment_body, commitments_app, counts, make,
    plan_body, token_headers, writer)


# --- action plans ---------------------------------------------------------------------------

def test_an_action_plan_is_created_read_listed_and_changed(client, writer):
    """POST, GET one, GET the list and PATCH an action plan."""
    response = client.post("/api/v1/action-plans", json=plan_body(), headers=writer)
    assert response.status_code == 201
    plan = response.get_json()
    assert plan["member"] == "Chihuahua (Municipality), Mexico" and plan["ordinal"] == 1
    assert plan["submitted_on"] == "2023-10-11" and plan["period_end"] == "2024-05-31"
    assert plan["commitments"] == [] and plan["progress_pct"] is None

    assert client.get(f"/api/v1/action-plans/{plan['id']}").get_json()["title"] == plan["title"]
    page = client.get("/api/v1/action-plans").get_json()
    assert (page["page"], page["per_page"], page["total"]) == (1, 20, 1)
    assert page["items"][0]["id"] == plan["id"] and page["items"][0]["commitments_count"] == 0

    response = client.patch(f"/api/v1/action-plans/{plan['id']}", headers=writer, json={
        "period_end": "2024-06-30", "justification": "Prórroga aprobada"})
    assert response.status_code == 200 and response.get_json()["period_end"] == "2024-06-30"
    history = client.get(f"/api/v1/action-plans/{plan['id']}/history").get_json()["items"]
    assert [(e["field"], e["old_value"], e["new_value"], e["justification"]) for e in history] == [
        ("created", None, history[0]["new_value"], None),
        ("period_end", "2024-05-31", "2024-06-30", "Prórroga aprobada")]


def test_a_plan_shows_its_commitments_and_their_average_progress(client, make):
    """The plan's progress is the rounded average of its commitments' (those without are ignored)."""
    plan = make.plan()
    first, second = make.commitment(plan["id"], 1), make.commitment(plan["id"], 2)
    make.commitment(plan["id"], 3)  # no milestones: ignored in the average
    make.milestone(first["id"], progress_pct=50)
    make.milestone(second["id"], progress_pct=25)
    shown = client.get(f"/api/v1/action-plans/{plan['id']}").get_json()
    assert [(c["number"], c["progress_pct"]) for c in shown["commitments"]] == [
        (1, 50), (2, 25), (3, None)]
    assert shown["progress_pct"] == 38  # 37.5 rounds half up
    assert shown["commitments"][0]["url"] == f"{BASE_URL}/api/v1/commitments/{first['id']}"


def test_a_second_plan_with_the_same_member_and_ordinal_is_a_conflict(client, make, writer):
    make.plan()
    assert_problem(client.post("/api/v1/action-plans", json=plan_body(), headers=writer), 409)


@pytest.mark.parametrize("body, field", [
    (plan_body(period_start="2024-06-01"), "period_end"),
    (plan_body(ordinal=0), "ordinal"),
    (plan_body(title={"en": "no Spanish"}), "title"),
    (plan_body(colour="red"), "colour"),
    (plan_body(member=...), "member"),
])
def test_an_invalid_plan_is_a_422_naming_the_field(client, writer, cdb, body, field):
    assert_problem(client.post("/api/v1/action-plans", json=body, headers=writer), 422, field)
    assert counts(cdb)["action_plans"] == 0


# --- commitments ----------------------------------------------------------------------------

def test_a_commitment_is_created_and_read_by_id_or_ogp_id(client, make):
    """Every field comes back; MXCHH0003, mxchh0003 and the numeric id find the same commitment."""
    plan = make.plan()
    made = make.commitment(plan["id"], 3, ogp_id="MXCHH0003",
                           ogp_values=["access_to_information", "civic_participation"])
    body = commitment_body(plan["id"], 3)
    for name in ("number", "title", "action", "start_date", "end_date", "challenge_areas",
                 "institutions"):
        assert made[name] == body[name], name
    assert made["problem"] is None and made["status"] is None and made["progress_pct"] is None
    assert made["url"] == f"{BASE_URL}/api/v1/commitments/{made['id']}"
    assert made["history_url"] == made["url"] + "/history"
    for ref in (made["id"], "MXCHH0003", "mxchh0003"):
        shown = client.get(f"/api/v1/commitments/{ref}")
        assert shown.status_code == 200 and shown.get_json()["id"] == made["id"]
    assert set(shown.get_json()) >= {"milestones", "assessments", "institutions", "progress_pct"}


def test_commitments_are_filtered_by_plan_challenge_area_ogp_value_and_status(client, make, writer):
    first, second = make.plan(), make.plan(ordinal=2)
    a = make.commitment(first["id"], 1, challenge_areas=["justice", "civic_space"])
    b = make.commitment(first["id"], 2, ogp_values=["access_to_information"],
                        challenge_areas=["access_to_information"], status="in_progress")
    c = make.commitment(second["id"], 1, ogp_values=["civic_participation", "public_accountability"])

    def ids(query):
        response = client.get(f"/api/v1/commitments{query}")
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert page["total"] == len(page["items"])
        return [item["id"] for item in page["items"]]

    assert ids("") == [a["id"], b["id"], c["id"]]
    assert ids(f"?action_plan={first['id']}") == [a["id"], b["id"]]
    assert ids("?challenge_area=justice") == [a["id"]]
    assert ids("?challenge_area=access_to_information") == [b["id"]]
    assert ids("?ogp_value=civic_participation") == [a["id"], c["id"]]
    assert ids("?ogp_value=public_accountability") == [c["id"]]
    assert ids("?status=in_progress") == [b["id"]]
    assert ids(f"?action_plan={first['id']}&ogp_value=civic_participation") == [a["id"]]
    page = client.get("/api/v1/commitments?per_page=2&page=2").get_json()
    assert (page["total"], [i["id"] for i in page["items"]]) == (3, [c["id"]])
    assert_problem(client.get("/api/v1/commitments?challenge_area=weather"), 422, "challenge_area")
    assert_problem(client.get("/api/v1/commitments?colour=red"), 422, "colour")


def test_patching_a_commitment_records_history_and_emits_commitment_updated(
        client, make, writer, cdb, outbox_facts):
    """Only what changed is recorded, field by field, and announced with old and new values."""
    plan = make.plan()
    made = make.commitment(plan["id"], 3)
    response = client.patch(f"/api/v1/commitments/{made['id']}", headers=writer, json={
        "ogp_id": "MXCHH0003", "status": "in_progress", "number": 3,
        "challenge_areas": ["public_participation", "gender_and_inclusion"]})
    assert response.status_code == 200
    assert response.get_json()["ogp_id"] == "MXCHH0003"
    [fact] = outbox_facts(cdb)
    assert fact["type"] == "commitment.updated" and fact["source"] == "/abierto/commitments"
    assert fact["subject"] == f"commitments/{made['id']}"
    assert fact["data"]["changes"] == {
        "ogp_id": {"old": None, "new": "MXCHH0003"},
        "status": {"old": None, "new": "in_progress"},
        "challenge_areas": {"old": ["public_participation"],
                            "new": ["public_participation", "gender_and_inclusion"]}}
    assert fact["data"]["actor"] == "municipio"
    assert fact["data"]["commitment"]["ogp_id"] == "MXCHH0003"
    entries = client.get(f"/api/v1/commitments/MXCHH0003/history").get_json()["items"]
    assert sorted(e["field"] for e in entries[1:]) == ["challenge_areas", "ogp_id", "status"]

    again = client.patch(f"/api/v1/commitments/{made['id']}", headers=writer,
                         json={"status": "in_progress"})
    assert again.status_code == 200 and len(outbox_facts(cdb)) == 1  # nothing changed


def test_commitment_conflicts_and_bad_references(client, make, writer, cdb):
    plan = make.plan()
    make.commitment(plan["id"], 1, ogp_id="MXCHH0001")
    other = make.commitment(plan["id"], 2)
    assert_problem(client.post("/api/v1/commitments", headers=writer,
                               json=commitment_body(plan["id"], 1)), 409)
    assert_problem(client.patch(f"/api/v1/commitments/{other['id']}", headers=writer,
                                json={"ogp_id": "MXCHH0001"}), 409)
    assert_problem(client.post("/api/v1/commitments", headers=writer,
                               json=commitment_body(999999, 5)), 422, "action_plan_id")
    assert counts(cdb)["commitments"] == 2


@pytest.mark.parametrize("overrides, field", [
    ({"ogp_values": ["transparency"]}, "ogp_values"),
    ({"challenge_areas": ["weather"]}, "challenge_areas"),
    ({"challenge_areas": ["justice", "justice"]}, "challenge_areas"),
    ({"institutions": [{"name": "Tesorería", "role": "boss"}]}, "institutions"),
    ({"status": "done"}, "status"),
    ({"ogp_id": "3"}, "ogp_id"),
    ({"end_date": "2023-01-01"}, "end_date"),
    ({"number": 2**40}, "number"),
    ({"title": {"es": "a\x00b", "en": ""}}, "title"),
    ({"title": {"es": "a\udfffb", "en": ""}}, "title"),
    ({"institutions": [{"name": "Tesorer\ud800ía", "role": "lead"}]}, "institutions"),
])
def test_an_invalid_commitment_is_a_422_naming_the_field(client, make, writer, cdb, overrides, field):
    """Unknown codes, bad shapes and dates out of order are refused, and nothing is written."""
    plan = make.plan()
    before = counts(cdb)
    response = client.post("/api/v1/commitments", headers=writer,
                           json=commitment_body(plan["id"], **overrides))
    assert_problem(response, 422, field)
    assert counts(cdb) == before


@pytest.mark.parametrize("body, field", [
    ({"end_date": "2020-01-01"}, "end_date"),  # before the stored start
    ({"action_plan_id": 2}, "action_plan_id"),  # a commitment stays in its plan
    ({"institutions": [{"name": "Tesorería"}]}, "institutions"),  # nested objects stay whole
    ({"title": {"en": "English only"}}, "title"),
    ({"ogp_values": ["civic_participation"], "evidence": [{"title": "sin url"}]}, "evidence"),
])
def test_an_invalid_commitment_patch_is_a_422_and_writes_nothing(client, make, writer, cdb,
                                                                  body, field):
    made = make.commitment(make.plan()["id"])
    before = counts(cdb)
    assert_problem(client.patch(f"/api/v1/commitments/{made['id']}", headers=writer, json=body),
                   422, field)
    assert counts(cdb) == before


# --- not found, tokens, contract ------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/action-plans/999"), ("patch", "/api/v1/action-plans/999"),
    ("get", "/api/v1/action-plans/999/export"), ("get", "/api/v1/action-plans/999/history"),
    ("get", "/api/v1/commitments/999"), ("get", "/api/v1/commitments/MXCHH9999"),
    ("get", "/api/v1/commitments/99999999999999"), ("patch", "/api/v1/commitments/999"),
    ("post", "/api/v1/commitments/999/milestones"), ("post", "/api/v1/commitments/999/assessments"),
    ("get", "/api/v1/commitments/999/history"), ("get", "/api/v1/milestones/999"),
    ("patch", "/api/v1/milestones/999"),
])
def test_unknown_ids_are_404(client, writer, method, path):
    body = {} if method == "patch" else None
    if path.endswith("/milestones"):
        body = {"title": {"es": "Hito"}}
    elif path.endswith("/assessments"):
        body = {"assessor": "IRM", "kind": "irm", "assessed_on": "2024-06-01"}
    assert_problem(getattr(client, method)(path, json=body, headers=writer), 404)


@pytest.mark.parametrize("path", [
    "/api/v1/commitments/%00", "/api/v1/commitments/MXCHH0001%00/history",
    "/api/v1/commitments?status=%00", "/commitments/%00",
])
def test_a_nul_character_in_the_address_is_a_400(client, path):
    """PostgreSQL cannot look up U+0000: refused up front on every backend, pages included."""
    assert_problem(client.get(path), 400)


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/action-plans"), ("patch", "/api/v1/action-plans/1"),
    ("post", "/api/v1/action-plans/import"), ("post", "/api/v1/commitments"),
    ("patch", "/api/v1/commitments/1"), ("post", "/api/v1/commitments/1/milestones"),
    ("patch", "/api/v1/milestones/1"), ("post", "/api/v1/commitments/1/assessments"),
])
def test_writes_need_a_token_with_the_commitments_scope(client, cdb, method, path):
    """No token: 401 with a Bearer challenge; a token without `commitments:write`: 403."""
    response = getattr(client, method)(path, json={})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    other = token_headers(cdb, {"deliveries:read"})
    assert_problem(getattr(client, method)(path, json={}, headers=other), 403)


def test_the_vocabularies_and_the_openapi_document_are_public(client):
    vocabularies = client.get("/api/v1/vocabularies").get_json()
    assert len(vocabularies["challenge_areas"]) == 10
    assert vocabularies["ogp_values"]["civic_participation"]["en"] == "Civic Participation"
    assert vocabularies["completion"]["complete"] == {"en": "Complete", "es": "Completo"}
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/action-plans", "/api/v1/commitments/{ref}",
                 "/api/v1/milestones/{milestone_id}", "/api/v1/history/verify",
                 "/api/v1/action-plans/{plan_id}/export", "/api/v1/action-plans/import"):
        assert path in spec["paths"], path
