"""The page a milestone alert's "check it later" link opens: the same check as
GET /api/v1/history/verify, in words, in the reader's language (both backends)."""
import pytest

from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    cdb, client, commitments_app, make, writer)


@pytest.fixture
def head(client, make, writer):
    """The log's head after a commitment, a milestone and one move: what an alert carries."""
    commitment = make.commitment(make.plan()["id"], 3)
    milestone = make.milestone(commitment["id"])
    assert client.patch(f"/api/v1/milestones/{milestone['id']}", headers=writer,
                        json={"progress_pct": 60}).status_code == 200
    return client.get("/api/v1/history/head").get_json()


def page(client, query):
    response = client.get(f"/history/verify?{query}")
    assert response.mimetype == "text/html"
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("language, yes", [
    ("es", "Sí: el historial de hoy"), ("en", "Yes: today&#39;s history")])
def test_a_kept_head_that_today_extends_says_yes_in_the_readers_language(
        client, make, writer, head, language, yes):
    make.plan(ordinal=2)  # the history grows past the kept head
    status, shown = page(client, f"size={head['size']}&root={head['root_hash']}&lang={language}")
    assert status == 200 and f'<html lang="{language}">' in shown
    assert yes in shown and head["root_hash"] in shown and 'role="alert"' not in shown


def test_a_head_the_history_does_not_extend_says_no(client, head):
    status, shown = page(client, f"size={head['size']}&root={'0' * 64}")
    assert status == 200 and 'role="alert"' in shown and "No: el historial de hoy" in shown
    status, shown = page(client, f"size={head['size'] + 5}&root={head['root_hash']}")
    assert "No: el historial de hoy" in shown  # more entries than today's log has


def test_without_a_head_it_checks_the_whole_chain(client, head):
    status, shown = page(client, "lang=en")  # where the page's language switch leads
    assert status == 200 and f"History verified: {head['size']} entries." in shown


@pytest.mark.parametrize("query", ["size=3", "root=" + "a" * 64, "size=x&root=" + "a" * 64,
                                   "size=3&root=xyz", "size=3&root=" + "a" * 64 + "&extra=1"])
def test_a_broken_link_gets_a_page_that_says_what_is_missing(client, query):
    status, shown = page(client, query)
    assert status == 400 and "hacen falta su tamaño" in shown
