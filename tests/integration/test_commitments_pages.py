"""The public pages: plans and commitments in Spanish or English, history, chart, follow form."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from services.commitments import charts, pages
from services.commitments.models import HistoryEntry
from services.commitments.tracking import update_milestone
from shared import config
from tests.integration.commitments_helpers import (  # noqa: F401 (fixtures)
    NOW, cdb, client, commitments_app, history_rows, make, unguarded, writer)
from tests.integration.test_subscriptions_api import (  # noqa: F401 (fixtures)
    Follow, closed_port_url, commitments_api, follow, follow_down)


@pytest.fixture
def published(client, make, writer):
    """A plan with a tracked commitment (OGP id, one delayed milestone, one met) and a bare one."""
    plan = make.plan()
    tracked = make.commitment(plan["id"], 3, ogp_id="MXCHH0003", status="in_progress",
                              problem={"es": "Falta diálogo rural.", "en": "No rural dialogue."})
    late = make.milestone(tracked["id"])  # planned end 2024-01-31, in progress: delayed at NOW
    done = make.milestone(tracked["id"], title={"es": "Mesa instalada", "en": "Table set up"},
                          planned_start="2023-09-01", status="scheduled", progress_pct=0)
    assert client.patch(f"/api/v1/milestones/{done['id']}", headers=writer, json={
        "status": "met", "progress_pct": 100, "date_met": "2023-12-01",
        "justification": "Acta de instalación",
        "evidence": [{"title": "Acta", "url": "https://example.org/acta.pdf"}]}).status_code == 200
    bare = make.commitment(plan["id"], 4)
    return plan, tracked, bare, late, done


def html(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_home_lists_the_plan_and_its_commitments_in_spanish(client, published):
    page = html(client.get("/"))
    assert '<html lang="es">' in page and page.count("<h1") == 1
    assert 'href="#main"' in page and "<header" in page and "<footer" in page
    assert "Primer Plan de Acción" in page and "Compromiso 3" in page and "Compromiso 4" in page
    assert "MXCHH0003" in page and 'href="/commitments/MXCHH0003"' in page
    bars = re.findall(r'role="progressbar"[^>]*', page)
    assert len(bars) == 2  # the plan's and the tracked commitment's (the bare one has none)
    assert all('aria-valuemin="0"' in b and 'aria-valuemax="100"' in b for b in bars)
    assert 'aria-valuenow="70"' in page  # (40 + 100) / 2
    assert "Participación pública" in page and "Participación cívica" in page
    assert "En proceso" in page and "actualizado hoy" in page
    assert 'href="/assets/abierto.css"' in page and "http://" not in page.split("<body")[0]
    assert client.get("/assets/abierto.css").status_code == 200


def test_english_by_the_switch_sticks_in_a_cookie(client, published):
    page = html(client.get("/?lang=en"))
    assert '<html lang="en">' in page
    assert "First Action Plan" in page and "Commitment 3" in page
    assert "Public Participation" in page and "Civic Participation" in page
    assert "In progress" in page and "updated today" in page
    again = html(client.get("/commitments/MXCHH0003"))  # no ?lang: the cookie decides
    assert '<html lang="en">' in again and "Delayed" in again and "History verified" in again
    assert '<html lang="es">' in html(client.get("/?lang=es"))


def test_updated_days_ago_counts_from_the_last_change(client, cdb, published):
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.execute(text("UPDATE history SET occurred_at = :when"),
                           {"when": (NOW - timedelta(days=5)).replace(tzinfo=None)})
    assert "actualizado hace 5 días" in html(client.get("/"))


@pytest.mark.parametrize("ref", ["MXCHH0003", "mxchh0003", "id"])
def test_the_commitment_page_by_id_or_ogp_id(client, published, ref):
    _, tracked, _, late, done = published
    page = html(client.get(f"/commitments/{tracked['id'] if ref == 'id' else ref}"))
    assert page.count("<h1") == 1 and "Compromiso 3" in page
    assert "Falta diálogo rural." in page and "Instalar un grupo de trabajo." in page
    # Milestones by planned start: the one started in September first; the late one marked.
    assert page.index("Mesa instalada") < page.index("Instalación del grupo")
    assert page.count("Retrasado") == 1 and "2023-12-01" in page
    # The whole chain: plan, two commitments, two milestones, three fields moved.
    assert "Historial verificado: el registro público completo, de 8 entradas" in page
    assert "Acta de instalación" in page and 'href="https://example.org/acta.pdf"' in page
    assert "Programado → Cumplido" in page and "0 → 100" in page and "municipio" in page
    assert re.search(r'<svg role="img"[^>]*>\s*<title', page) and "<desc" in page
    assert "Avance (%)" in page
    follow_url = config.load("notifications").public_base_url + "/follow"
    assert f'<form method="post" action="{follow_url}">' in page
    assert f'name="topic" value="commitment:{tracked["id"]}"' in page
    assert '<label for="follow-email">' in page and 'id="follow-email"' in page


def test_history_count_in_the_page_matches_the_log(client, cdb, published):
    entries = len(history_rows(cdb))
    assert f"Historial verificado: el registro público completo, de {entries} entradas" in html(client.get("/commitments/MXCHH0003"))


def test_tampering_shows_on_the_page(client, cdb, published):
    target = [row for row in history_rows(cdb) if row.field == "status"][0].id
    with unguarded(cdb), cdb.engine.begin() as connection:
        connection.execute(text("UPDATE history SET actor = 'otro' WHERE id = :id"), {"id": target})
    page = html(client.get("/commitments/MXCHH0003"))
    assert "Historial verificado" not in page
    assert f"la primera entrada alterada es la {target}" in page
    english = html(client.get("/commitments/MXCHH0003?lang=en"))
    assert f"the first altered entry is number {target}" in english


@pytest.mark.parametrize("ref", ["999", "MXCHH9999", "99999999999999"])
def test_an_unknown_commitment_is_a_404_page(client, published, ref):
    page = html(client.get(f"/commitments/{ref}"), 404)
    assert "No encontramos ese compromiso" in page and '<html lang="es">' in page


def test_the_chart_follows_progress_over_time(client, cdb, published):
    _, tracked, _, late, _ = published
    later = NOW + timedelta(days=10)
    update_milestone(cdb, late["id"], {"progress_pct": 80}, "municipio", later, "http://x")
    with cdb.transaction() as session:
        entries = session.query(HistoryEntry).filter_by(
            commitment_id=tracked["id"]).order_by(HistoryEntry.id).all()
    series = charts.progress_series(entries)
    assert [pct for _, pct in series] == [70, 90]  # (40+100)/2 at NOW, then (80+100)/2
    assert series[-1][0] == later
    shape = charts.layout(series)
    assert shape["first"]["x"] == shape["left"] and shape["last"]["x"] == shape["right"]
    page = html(client.get("/commitments/MXCHH0003?lang=en"))
    assert "Progress went from 70% on" in page and "to 90% on" in page
    assert page.count("<circle") == 2


def test_a_commitment_without_milestones_has_no_bar_nor_chart(client, published):
    _, _, bare, _, _ = published
    page = html(client.get(f"/commitments/{bare['id']}"))
    assert 'role="progressbar"' not in page and "<svg" not in page
    assert "Historial verificado" in page


# --- the follow form, on the notification service --------------------------------------------

def post_follow(follow, **fields):
    form = {"email": "ana@example.org", "topic": "commitment:1", "language": "es", **fields}
    return follow.client.post("/follow", data=form)


def test_following_from_the_form_saves_a_pending_subscription(follow):
    page = html(post_follow(follow, email=" Ana@Example.org ", language="en"))
    assert "Revisa tu correo para confirmar" in page and "Check your email to confirm" in page
    (row,) = follow.subscriptions()
    assert (row["email_key"], row["topic"], row["language"], row["status"]) == (
        "ana@example.org", "commitment:1", "en", "pending")
    assert len(follow.deliveries()) == 1 and len(follow.queued) == 1
    # The same answer again, whatever the state.
    assert "Revisa tu correo para confirmar" in html(post_follow(follow))


def test_a_bad_email_is_a_422_page(follow):
    page = html(post_follow(follow, email="not-an-email"), 422)
    assert "email" in page and "Revisa los datos" in page
    assert follow.subscriptions() == []


def test_an_unknown_commitment_is_a_422_page(follow):
    assert "no existe" in html(post_follow(follow, topic="commitment:77"), 422)
    assert follow.subscriptions() == []


def test_commitments_down_is_a_503_page(follow_down):
    response = post_follow(follow_down)
    assert "Inténtalo más tarde" in html(response, 503)
    assert response.headers["Retry-After"] and follow_down.subscriptions() == []


def test_the_page_lists_the_newest_entries_and_links_to_all(client, cdb, published):
    """The page does not load a long history to render it: the newest 50, and where the rest are."""
    _, tracked, _, late, _ = published
    for pct in range(41, 41 + pages.HISTORY_SHOWN):
        update_milestone(cdb, late["id"], {"progress_pct": pct}, "municipio",
                         NOW + timedelta(minutes=pct), "http://x")
    with cdb.engine.connect() as connection:
        own = connection.execute(text("SELECT id FROM history WHERE commitment_id = :id"),
                                 {"id": tracked["id"]}).scalars().all()
    page = html(client.get("/commitments/MXCHH0003?lang=en"))
    listed = [int(found) for found in re.findall(r'<li id="h-(\d+)">', page)]
    assert listed == sorted(own, reverse=True)[:pages.HISTORY_SHOWN]
    assert f"Showing the newest {pages.HISTORY_SHOWN} of {len(own)}" in page
    assert f'href="/api/v1/commitments/{tracked["id"]}/history"' in page
    assert f'<ol class="history" reversed start="{len(own)}">' in page
    # The chart still replays every move: it ends at (90 + 100) / 2.
    assert "to 95% on" in page


def test_the_meta_line_has_no_stray_separator(client, published):
    """A bare commitment (no OGP id or status) shows its plan and dates, one "·" between."""
    plan, tracked, bare, _, _ = published
    page = html(client.get(f"/commitments/{bare['id']}"))
    meta = " ".join(re.findall(r'<p class="meta">([^<]*)</p>', page)[0].split())
    assert meta == f"{plan['title']['es']} · 2023-10-01 – 2024-05-31"
    page = html(client.get("/commitments/MXCHH0003"))
    assert ('<p class="meta">ID de OGP: MXCHH0003 · Primer Plan de Acción · Estado: '
            '<span class="badge">En proceso</span> · 2023-10-01 – 2024-05-31</p>') in page


def test_the_seeds_entries_are_not_signed_by_a_user_called_seed(client, cdb):
    from services.commitments.seed import seed

    seed(cdb, NOW)
    page = html(client.get("/commitments/MXCHH0003"))
    assert "Por seed" not in page and "Por la carga inicial del plan" in page
    assert "By the plan&#39;s initial load" in html(client.get("/commitments/MXCHH0003?lang=en"))
