"""The pages a follower's links open: GET shows and changes nothing, POST confirms or leaves."""
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete

from services.notifications.mail import links
from services.notifications.models import Subscription
from shared.signing import Keys
from tests.integration.problems import tampered
from tests.integration.test_subscriptions_api import (SECRET_KEY, Follow,  # noqa: F401 - fixtures
                                                      closed_port_url, commitments_api, follow)

ONE_CLICK = {"data": "List-Unsubscribe=One-Click",
             "content_type": "application/x-www-form-urlencoded"}


@pytest.fixture
def pending(follow):
    """A pending subscription to commitment 1: (follow, its id, its confirm and unsubscribe paths)."""
    follow.subscribe()
    (row,) = follow.subscriptions()
    made = links.Links("", Keys(SECRET_KEY))
    return follow, row["id"], made.confirm(row["id"]), made.unsubscribe(row["id"])


def status(follow):
    return follow.subscriptions()[0]["status"]


def facts(follow, outbox_facts):
    return [fact["type"] for fact in outbox_facts(follow.db)]


def old_token(purpose, value, age):
    """A token signed `age` seconds ago, as shared.signing would have made it then."""

    class Then(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - age)

    return URLSafeTimedSerializer(Keys(SECRET_KEY).for_purpose(purpose), salt=purpose,
                                  signer=Then).dumps(value)


def assert_page(response, status_code):
    """A bilingual HTML page, Spanish first, with nothing loaded from elsewhere (only our own
    stylesheet, since the CSP allows no inline style) and no cookie."""
    assert response.status_code == status_code
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="es">' in html and 'lang="en"' in html
    assert html.index('lang="es"') < html.index('lang="en"')
    own_stylesheet = '<link rel="stylesheet" href="/assets/abierto.css">'
    assert html.count(own_stylesheet) == 1
    rest = html.replace(own_stylesheet, "")
    assert "<script" not in rest and "<link" not in rest and "src=" not in rest
    assert "Set-Cookie" not in response.headers
    return html


# --- confirming -----------------------------------------------------------------------------

def test_the_confirm_page_shows_a_button_and_changes_nothing(pending, outbox_facts):
    follow, _, confirm, _ = pending
    before = facts(follow, outbox_facts)

    html = assert_page(follow.client.get(confirm), 200)

    assert '<form method="post">' in html and "Confirmar / Confirm" in html
    assert "Prevención de la violencia" in html and "Violence prevention" in html
    assert "ana@example.org" not in html
    assert status(follow) == "pending" and facts(follow, outbox_facts) == before


def test_posting_confirms_once(pending, outbox_facts):
    follow, subscription_id, confirm, _ = pending

    html = assert_page(follow.client.post(confirm), 200)

    assert "Suscripción confirmada" in html and "Subscription confirmed" in html
    (row,) = follow.subscriptions()
    assert row["status"] == "confirmed" and row["confirmed_at"] is not None
    (fact,) = [f for f in outbox_facts(follow.db) if f["type"] == "subscription.confirmed"]
    assert fact["data"]["subscription"] == {"id": subscription_id, "topic": "commitment:1",
                                            "language": "es"}
    assert_page(follow.client.post(confirm), 200)
    assert facts(follow, outbox_facts).count("subscription.confirmed") == 1
    assert "Ya sigues" in assert_page(follow.client.get(confirm), 200)


def test_the_page_still_works_when_the_commitments_service_is_down(
        empty_database, closed_port_url):
    follow = Follow(empty_database("notifications"), closed_port_url)
    with follow.db.transaction() as session:
        session.add(Subscription(email="ana@example.org", email_key="ana@example.org",
                                 topic="commitment:1", language="es", status="pending"))
    (row,) = follow.subscriptions()
    html = assert_page(follow.client.get(links.Links("", Keys(SECRET_KEY)).confirm(row["id"])), 200)
    assert "compromiso 1" in html and "commitment 1" in html


# --- leaving --------------------------------------------------------------------------------

def test_the_unsubscribe_page_shows_a_button_and_changes_nothing(pending, outbox_facts):
    follow, _, confirm, unsubscribe = pending
    follow.client.post(confirm)
    before = facts(follow, outbox_facts)

    html = assert_page(follow.client.get(unsubscribe), 200)

    assert '<form method="post">' in html and "Dejar de seguirlo / Unsubscribe" in html
    assert status(follow) == "confirmed" and facts(follow, outbox_facts) == before


def test_one_click_unsubscribe_without_cookies_cancels_and_repeats_harmlessly(
        pending, outbox_facts):
    follow, subscription_id, confirm, unsubscribe = pending
    follow.client.post(confirm)
    provider = follow.client.application.test_client(use_cookies=False)  # a mailbox's server

    html = assert_page(provider.post(unsubscribe, **ONE_CLICK), 200)

    assert "Suscripción cancelada" in html and "Unsubscribed" in html
    (row,) = follow.subscriptions()
    assert row["status"] == "cancelled" and row["cancelled_at"] is not None
    assert facts(follow, outbox_facts)[-1] == "subscription.cancelled"
    assert_page(provider.post(unsubscribe, **ONE_CLICK), 200)
    assert facts(follow, outbox_facts).count("subscription.cancelled") == 1
    assert "Ya no sigues" in assert_page(follow.client.get(unsubscribe), 200)


def test_the_pages_button_unsubscribes_with_an_empty_body(pending):
    follow, _, confirm, unsubscribe = pending
    follow.client.post(confirm)
    assert_page(follow.client.post(unsubscribe), 200)
    assert status(follow) == "cancelled"


# --- bad links ------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("which", [2, 3])
def test_a_tampered_link_is_a_400_and_changes_nothing(pending, outbox_facts, method, which):
    follow = pending[0]
    path = pending[which]
    before = facts(follow, outbox_facts)
    html = assert_page(getattr(follow.client, method)(tampered(path)), 400)
    assert "Enlace no válido" in html
    assert status(follow) == "pending" and facts(follow, outbox_facts) == before


def test_a_link_for_the_other_purpose_is_a_400(pending):
    follow, subscription_id, confirm, unsubscribe = pending
    swapped = "/subscriptions/unsubscribe/" + confirm.rpartition("/")[2]
    assert_page(follow.client.post(swapped, **ONE_CLICK), 400)
    assert status(follow) == "pending"


@pytest.mark.parametrize("purpose, path, age", [
    (links.CONFIRM, "/subscriptions/confirm/", 8 * 24 * 3600),
    (links.UNSUBSCRIBE, "/subscriptions/unsubscribe/", 366 * 24 * 3600),
])
def test_an_expired_link_is_a_410(pending, purpose, path, age):
    follow, subscription_id = pending[:2]
    html = assert_page(follow.client.post(path + old_token(purpose, subscription_id, age)), 410)
    assert "Enlace vencido" in html and status(follow) == "pending"
    fresh = old_token(purpose, subscription_id, age - 2 * 24 * 3600)
    assert follow.client.get(path + fresh).status_code == 200  # within its age it still works


def test_a_link_to_an_erased_subscription_is_a_404(pending):
    follow, _, confirm, unsubscribe = pending
    with follow.db.transaction() as session:
        session.execute(delete(Subscription))
    assert_page(follow.client.get(confirm), 404)
    assert_page(follow.client.post(unsubscribe, **ONE_CLICK), 404)


def test_the_pages_have_the_sites_header_a_way_back_and_the_privacy_notice(pending):
    """Follow, confirm and unsubscribe pages: the header links home, a link leads back to
    the commitment, the footer to the aviso de privacidad."""
    follow, _, confirm_path, unsubscribe_path = pending
    home = follow.settings.peers["commitments"].public_url
    privacy = follow.settings.peers["registration"].public_url + "/privacy"
    answers = [follow.client.post("/follow", data={"email": "bea@example.org",
                                                   "topic": "commitment:1", "language": "es"}),
               follow.client.get(confirm_path), follow.client.post(confirm_path),
               follow.client.get(unsubscribe_path), follow.client.post(unsubscribe_path)]
    for answer in answers:
        html = assert_page(answer, 200)
        assert '<header class="site">' in html and f'<a href="{home}/"><strong>Abierto' in html
        assert f'<a href="{home}/commitments/1">← Volver al compromiso' in html
        assert f'<a href="{privacy}">Aviso de privacidad' in html
    made_up = follow.client.post("/follow", data={"email": "x", "topic": "commitment:1/../x"})
    assert "/commitments/1/" not in made_up.get_data(as_text=True)
    assert f'<a href="{home}/">← Todos los compromisos' in made_up.get_data(as_text=True)
