"""Webhook secrets at rest, on SQLite and PostgreSQL: the database holds them only sealed
under SECRET_KEY, so a copy of it signs nothing a receiver accepts; a SECRET_KEY rotated with
the old one in SECRET_KEY_FALLBACKS keeps every call verifying; the migration seals the
secrets stored in clear before it."""
import base64
import binascii
import json
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from standardwebhooks import Webhook, WebhookVerificationError

from services.notifications.app import create_app
from services.notifications.models import WebhookEndpoint
from services.notifications.pipeline import retention, tasks
from services.notifications.webhooks import recording, sealing, transport
from shared.db import Database, alembic_config, utcnow
from shared.signing import Keys
from tests.integration.test_webhooks import (delivery, hook_worker, hooks_api, milestone_fact,  # noqa: F401
                                             receiver, register)

BEFORE = "55b2cf48dbb6"  # notifications' 0009_change_feeds: secrets in clear
NEW_KEY = "the-rotated-secret-key-" + "n" * 24


def stored(db, endpoint_id):
    with db.engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT secret, previous_secret FROM webhook_endpoints WHERE id = :id"),
            {"id": endpoint_id}).one()


def send_one_fact(db):
    (delivery_id,) = recording.record_batch(db, [milestone_fact()], utcnow(), timedelta(seconds=60))
    return delivery_id, tasks.send_deliveries([delivery_id])


def test_a_copy_of_the_database_holds_no_secret_and_signs_nothing_a_receiver_accepts(
        hook_worker, receiver, hooks_api):
    client, db, headers, _ = hooks_api()
    portal = headers()
    made = register(client, portal, receiver.url).get_json()
    rotated = client.post(f"/api/v1/webhooks/endpoints/{made['id']}/rotate-secret",
                          headers=portal).get_json()
    copy = stored(db, made["id"])
    for column in copy:
        assert not column.startswith("whsec_")
        assert made["secret"] not in column and rotated["secret"] not in column
        assert made["secret"][6:] not in column and rotated["secret"][6:] not in column
    # the real call verifies with the secret the integrator was shown
    assert send_one_fact(db)[1] == ["sent"]
    call = receiver.received[-1]
    assert Webhook(rotated["secret"]).verify(call.body, call.headers) == json.loads(call.body)
    # whoever holds the copy but not SECRET_KEY: the stored values do not sign, nor open
    forged_body = json.dumps({**json.loads(call.body), "data": {"forged": True}}).encode()
    for value in copy:
        for candidate in (value, "whsec_" + base64.b64encode(value.encode()).decode()):
            try:
                forged = transport.headers(call.headers["webhook-id"], utcnow(), [candidate],
                                           forged_body)
            except (binascii.Error, ValueError):
                continue  # not even a key Standard Webhooks can sign with
            with pytest.raises(WebhookVerificationError):
                Webhook(rotated["secret"]).verify(forged_body, forged)
        with pytest.raises(sealing.Unreadable):
            sealing.unseal(Keys("a-guess-at-the-key-" + "g" * 30), value)


def test_a_rotated_secret_key_with_the_old_in_fallbacks_keeps_calls_verifying(
        hook_worker, receiver, hooks_api, monkeypatch):
    client, db, headers, _ = hooks_api()
    made = register(client, headers(), receiver.url).get_json()
    old_key = hook_worker.settings.secret_key

    def worker(secret_key, fallbacks=()):
        settings = replace(hook_worker.settings, secret_key=secret_key,
                           secret_key_fallbacks=fallbacks)
        monkeypatch.setattr(tasks, "collaborators", replace(hook_worker, settings=settings))
        return settings

    # the old key dropped too soon: nothing goes, the log says what to fix
    worker(NEW_KEY)
    refused, outcome = send_one_fact(db)
    assert outcome == ["awaiting_retry"] and receiver.received == []
    assert "SECRET_KEY_FALLBACKS" in delivery(db, refused).last_error
    # with the old key in the fallbacks, it signs as before
    rotated = worker(NEW_KEY, (old_key,))
    assert send_one_fact(db)[1] == ["sent"]
    Webhook(made["secret"]).verify(receiver.received[-1].body, receiver.received[-1].headers)
    # the hourly round reseals under the new key, after which the old one may go
    before = stored(db, made["id"]).secret
    assert retention.apply(db, hook_worker.bus, rotated, utcnow())["webhook secrets resealed"] == 1
    assert stored(db, made["id"]).secret != before
    assert retention.apply(db, hook_worker.bus, rotated, utcnow())["webhook secrets resealed"] == 0
    worker(NEW_KEY)
    assert send_one_fact(db)[1] == ["sent"]
    Webhook(made["secret"]).verify(receiver.received[-1].body, receiver.received[-1].headers)
    assert len(receiver.received) == 2


def test_a_secret_whose_key_was_lost_is_not_used_and_rotating_it_is_the_way_out(
        hook_worker, receiver, hooks_api, monkeypatch):
    client, db, headers, _ = hooks_api()
    portal = headers()
    made = register(client, portal, receiver.url).get_json()
    lost = replace(hook_worker.settings, secret_key=NEW_KEY)  # the old key dropped, not resealed
    monkeypatch.setattr(tasks, "collaborators", replace(hook_worker, settings=lost))
    assert send_one_fact(db)[1] == ["awaiting_retry"] and receiver.received == []
    rotated = create_app(lost, db=db).test_client().post(
        f"/api/v1/webhooks/endpoints/{made['id']}/rotate-secret", headers=portal)
    assert rotated.status_code == 200, rotated.get_data(as_text=True)
    assert rotated.get_json()["previous_secret_until"] is None  # the lost one signs nothing
    assert send_one_fact(db)[1] == ["sent"]
    call = receiver.received[-1]
    assert call.headers["webhook-signature"].count("v1,") == 1
    Webhook(rotated.get_json()["secret"]).verify(call.body, call.headers)


@pytest.fixture
def before_sealing(databases):
    """(Database at 0009, with one endpoint whose secrets are in clear, move(revision))."""
    url = databases.url("notifications", BEFORE)
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO webhook_endpoints (id, url, event_types, contact_email, secret, "
            "previous_secret, enabled, owner_token_id, created_by, created_at, change_xid) "
            "VALUES (1, 'https://portal.example/hooks', '[\"milestone.changed\"]', "
            "'ti@portal.example', :secret, :previous, true, 1, 'portal', :now, 0)"),
            {"secret": "whsec_" + "A" * 44, "previous": "whsec_" + "B" * 44, "now": utcnow()})

    def move(revision):
        db.engine.dispose()
        (command.upgrade if revision == "head" else command.downgrade)(
            alembic_config("notifications", url), revision)

    yield db, move
    db.dispose()


def test_the_migration_seals_the_secrets_stored_in_clear_and_unseals_them_back(
        before_sealing, hook_worker):
    db, move = before_sealing
    move("head")
    secret, previous = stored(db, 1)
    assert not secret.startswith("whsec_") and not previous.startswith("whsec_")
    keys = hook_worker.settings.keys
    assert (sealing.unseal(keys, secret), sealing.unseal(keys, previous)) == (
        "whsec_" + "A" * 44, "whsec_" + "B" * 44)
    with db.transaction() as session:  # still the same row for the ORM, still in the feed
        endpoint = session.get(WebhookEndpoint, 1)
        assert endpoint.url == "https://portal.example/hooks" and endpoint.change_seq
    move(BEFORE)
    assert tuple(stored(db, 1)) == ("whsec_" + "A" * 44, "whsec_" + "B" * 44)
