"""`abierto seed --demo` on a fresh stack: every feature has something to show, every title
says it is an example, the pages pass axe in both languages, and the README's screenshots
come from here (UPDATE_SCREENSHOTS=1 writes them to docs/screenshots)."""
import os
import shutil

import pytest
import requests

from tests.e2e.browser import ROOT, axe_violations, explain, screenshot


@pytest.fixture(scope="module")
def demo(fresh_stack):
    fresh_stack.cli("seed", "--demo")
    fresh_stack.cli("seed", "--demo")  # added once
    return fresh_stack


def api(stack, service, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(stack.url(service, path), headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def token(stack, service, scopes):
    return stack.cli("token", "create", "--service", service, "--scopes", scopes).strip()


def test_the_demo_plan_shows_progress_a_delay_a_history_and_an_assessment(demo):
    plans = api(demo, "commitments", "/api/v1/action-plans")["items"]
    assert len(plans) == 2  # the real plan, untouched, and the example
    real, example = plans if plans[1]["title"]["es"].startswith("Ejemplo:") else plans[::-1]
    assert not real["title"]["es"].startswith("Ejemplo:") and real["commitments_count"] == 3
    assert example["title"]["en"].startswith("Example:")
    commitments = api(demo, "commitments", f"/api/v1/action-plans/{example['id']}")["commitments"]
    assert len(commitments) == 2
    for summary in commitments:
        assert summary["title"]["es"].startswith("Ejemplo:")
        assert summary["title"]["en"].startswith("Example:")
    works = api(demo, "commitments", f"/api/v1/commitments/{commitments[0]['id']}")
    milestones = works["milestones"]
    assert all(m["title"]["es"].startswith("Ejemplo:") for m in milestones)
    assert {m["status"] for m in milestones} == {"met", "in_progress"}
    assert [m["delayed"] for m in milestones].count(True) == 1
    assert 0 < works["progress_pct"] < 100
    (assessment,) = works["assessments"]
    assert assessment["assessor"].startswith("Ejemplo:")
    history = api(demo, "commitments", f"/api/v1/commitments/{works['id']}/history?per_page=100")
    reasons = [e["justification"] for e in history["items"] if e.get("justification")]
    assert len(reasons) >= 4 and all(r.startswith("Ejemplo:") for r in reasons)


def test_the_demo_event_is_full_with_a_waiting_list_and_a_follower(demo):
    events = api(demo, "registration", "/api/v1/events")["items"]
    (example,) = [e for e in events if "Ejemplo:" in str(e["title"])]
    assert example["seats_left"] == 0 and example["related_commitments"]
    reader = token(demo, "registration", "registrations:read")
    people = api(demo, "registration", f"/api/v1/events/{example['id']}/registrations",
                 reader)["items"]
    assert sorted(p["status"] for p in people) == ["confirmed"] * 3 + ["waitlisted"]
    followers = api(demo, "notifications", "/api/v1/subscriptions?status=confirmed",
                    token(demo, "notifications", "subscriptions:read"))["items"]
    assert [f["topic"] for f in followers] == [f"commitment:{example['related_commitments'][0]}"]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_demo_pages_pass_axe_and_make_the_readme_screenshots(demo, page, lang):
    events = api(demo, "registration", "/api/v1/events")["items"]
    (example,) = [e for e in events if "Ejemplo:" in str(e["title"])]
    commitment = example["related_commitments"][0]
    pages = {"events": demo.url("registration", "/"),
             "event": demo.url("registration", f"/events/{example['id']}"),
             "plan": demo.url("commitments", "/"),
             "commitment": demo.url("commitments", f"/commitments/{commitment}")}
    found = {}
    for name, url in pages.items():
        page.goto(f"{url}?lang={lang}")
        assert "de prueba" not in page.content().lower()  # no test data in sight
        shot = screenshot(page, f"demo-{name}-{lang}")
        kept = ROOT / "docs" / "screenshots" / f"{name}-{lang}.png"
        if os.environ.get("UPDATE_SCREENSHOTS") and kept.exists():  # those the docs show
            shutil.copy(shot, kept)
        violations = axe_violations(page) + page.csp_violations
        if violations:
            found[name] = violations
        page.csp_violations.clear()
    assert found == {}, explain(found)
