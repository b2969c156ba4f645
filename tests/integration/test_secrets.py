"""Keys on the real apps (SQLite and PostgreSQL): links signed with a shipped default are
refused, a fallback key still verifies, a removed one does not, a link made for one purpose
opens nothing else, and the forms' session cookie follows the same rotation."""
import re
from urllib.parse import urlsplit

import pytest

from services.notifications.app import create_app as create_notifications_app
from services.notifications.mail.links import Links as FollowLinks
from services.registration.app import create_app as create_registration_app
from services.registration.facts import Links
from shared import config
from shared.signing import Keys

CURRENT = "current-key-made-with-secrets-token-urlsafe-48"
OLD = "the-key-before-rotation-also-long-enough-0001"


def production_settings(service, db, fallbacks=()):
    """Settings as an operator would run them: production, a long key, maybe fallbacks."""
    return config.load(service, database_url=db.url, secret_key=CURRENT,
                       secret_key_fallbacks=tuple(fallbacks), environment="production",
                       public_base_url="http://abierto.test")


@pytest.fixture
def site(empty_database, new_token, bearer, future_event, person):
    """site(fallbacks) -> (client, registration id) of a production-keyed registration app."""
    db = empty_database("registration")

    def make(fallbacks=()):
        client = create_registration_app(production_settings("registration", db, fallbacks),
                                         db=db).test_client()
        # registrations:write: a kiosk's token, told the new registration's id
        headers = bearer(new_token(db, {"events:write", "registrations:write"}))
        event = client.post("/api/v1/events", json=future_event(), headers=headers).get_json()
        done = client.post(f"/api/v1/events/{event['id']}/registrations", json=person(1),
                           headers=headers)
        assert done.status_code == 201, done.get_json()
        return client, done.get_json()["id"], event["id"]

    return make


def cancel_path(keys, registration_id):
    return urlsplit(Links("", keys).cancel(registration_id)).path


@pytest.mark.parametrize("forged_with", ["change-me", config.DEV_SECRET_KEY])
def test_a_link_forged_with_a_shipped_default_is_refused(site, forged_with):
    client, registration_id, _ = site()
    response = client.get(cancel_path(Keys(forged_with), registration_id))
    assert response.status_code == 400
    assert "Enlace no válido" in response.get_data(as_text=True)
    assert client.get(cancel_path(Keys(CURRENT), registration_id)).status_code == 200


def test_a_link_signed_with_a_fallback_key_opens_and_a_removed_key_does_not(site):
    client, registration_id, _ = site(fallbacks=[OLD])
    sent_before_rotation = cancel_path(Keys(OLD), registration_id)
    assert client.get(sent_before_rotation).status_code == 200
    client, registration_id, _ = site(fallbacks=[])  # OLD taken out of SECRET_KEY_FALLBACKS
    assert client.get(cancel_path(Keys(OLD), registration_id)).status_code == 400


def test_a_link_for_another_purpose_opens_nothing(site, empty_database):
    client, registration_id, _ = site()
    follow_links = FollowLinks("", Keys(CURRENT))
    for url in (follow_links.confirm(registration_id), follow_links.unsubscribe(registration_id)):
        token = url.rsplit("/", 1)[1]
        assert client.get(f"/registrations/cancel/{token}").status_code == 400
    notifications_db = empty_database("notifications")
    follow = create_notifications_app(production_settings("notifications", notifications_db),
                                      db=notifications_db, enqueue=lambda ids: None).test_client()
    cancel_token = cancel_path(Keys(CURRENT), registration_id).rsplit("/", 1)[1]
    for page in ("confirm", "unsubscribe"):
        response = follow.get(f"/subscriptions/{page}/{cancel_token}")
        assert response.status_code == 400, page


def _form_session(client, event_id):
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return token, client.get_cookie("session").value


def _post_form(client, event_id, token, cookie):
    client.set_cookie("session", cookie, domain="localhost")
    return client.post(f"/events/{event_id}", data={
        "csrf_token": token, "name": "Ana", "email": "ana.form@example.org",
        "organization": "", "sector": "citizen", "language": "es", "privacy_consent": "yes"})


def test_the_forms_session_cookie_is_signed_with_a_derived_key_and_rotates(site):
    client, _, event_id = site()
    app = client.application
    assert app.secret_key not in (CURRENT, OLD) and app.config["SECRET_KEY_FALLBACKS"] == []
    before_client, _, event_id = site(fallbacks=[])
    old_app = create_registration_app(
        config.load("registration", database_url=app.extensions["abierto"].db.url,
                    secret_key=OLD, environment="production"),
        db=app.extensions["abierto"].db).test_client()
    token, cookie = _form_session(old_app, event_id)  # a form opened before the rotation
    rotated, _, _ = site(fallbacks=[OLD])
    assert _post_form(rotated, event_id, token, cookie).status_code == 200
    refused = _post_form(before_client, event_id, token, cookie)  # OLD no longer listed
    assert refused.status_code == 400
