"""Retention with a clock the test sets: stream entries and dead letters go after
STREAM_RETENTION, dead letters are capped, registrations of events long ended are anonymised
with their counts kept, and stored email contexts are scrubbed after DELIVERY_CONTEXT_DAYS."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from services.notifications.models import Delivery, Tombstone
from services.notifications.pipeline import consumer, deliveries, retention, tombstones
from services.registration import retention as registration_retention
from shared.bus import stream_name

NOW = datetime(2031, 9, 1, 12, 0, tzinfo=timezone.utc)
REGISTRATIONS = stream_name("registration")


def entry_id(moment):
    return f"{int(moment.timestamp() * 1000)}-0"


def test_the_bus_keeps_entries_and_tombstones_for_stream_retention_only(notifications, bus):
    settings = replace(notifications.settings, stream_retention=timedelta(days=7))
    for days_ago, stream in ((8, REGISTRATIONS), (6, REGISTRATIONS), (9, consumer.DEAD_LETTERS)):
        bus.redis.xadd(stream, {"event": f"{days_ago} days old"},
                       id=entry_id(NOW - timedelta(days=days_ago)))
    with notifications.db.transaction() as session:
        tombstones.lay(session, "old@example.org", NOW - timedelta(days=8))
        tombstones.lay(session, "recent@example.org", NOW - timedelta(days=1))

    gone = retention.apply(notifications.db, bus, settings, NOW)

    assert gone["stream entries"] == 2 and gone["tombstones"] == 1
    assert [fields for _id, fields in bus.redis.xrange(REGISTRATIONS)] == [{"event": "6 days old"}]
    assert bus.redis.xlen(consumer.DEAD_LETTERS) == 0
    with notifications.db.transaction() as session:
        assert session.scalars(select(Tombstone.address_hash)).all() == [
            tombstones.address_hash("recent@example.org")]


def test_dead_letters_are_capped(notifications, bus):
    notifications = replace(notifications, settings=replace(notifications.settings,
                                                            dead_letter_cap=3))
    stream = "test.dead"
    for n in range(5):
        bus.redis.xadd(stream, {"event": f"not json {n}"})
    bus.ensure_group(stream, consumer.GROUP)
    consumer.process(bus, bus.read(consumer.GROUP, "test", [stream]), notifications,
                     enqueue=lambda ids: None)
    assert [fields["event"] for _id, fields in bus.redis.xrange(consumer.DEAD_LETTERS)] == [
        "not json 2", "not json 3", "not json 4"]


def test_stored_contexts_are_scrubbed_days_after_the_email_was_done(notifications, bus):
    settings = replace(notifications.settings, delivery_context_days=30)
    fact = {"id": "00000000-0000-4000-8000-000000000001", "type": "registration.confirmed",
            "subject": "events/1/registrations/1", "time": NOW.isoformat()}
    ids = {}
    with notifications.db.transaction() as session:
        for name, state, days_ago in (("old", deliveries.SENT, 31), ("recent", deliveries.SENT, 29),
                                      ("retrying", deliveries.AWAITING_RETRY, 40)):
            row = deliveries.record(session, fact, "registration_confirmed", f"{name}@example.org",
                                    {"registration": {"name": name}}, NOW, timedelta(minutes=2),
                                    "abierto.test")
            row.state, row.state_changed_at = state, NOW - timedelta(days=days_ago)
            ids[name] = row.id

    assert retention.apply(notifications.db, bus, settings, NOW)["email contents"] == 1
    assert retention.apply(notifications.db, bus, settings, NOW)["email contents"] == 0

    with notifications.db.transaction() as session:
        contexts = dict(session.execute(select(Delivery.recipient, Delivery.context)).all())
    assert contexts == {"old@example.org": {},
                        "recent@example.org": {"registration": {"name": "recent"}},
                        "retrying@example.org": {"registration": {"name": "retrying"}}}


def test_registrations_of_events_long_ended_are_anonymised_and_still_counted(
        registration_app, make_event, register):
    client, db, _settings = registration_app
    event = make_event(capacity=1)  # ends 2031-05-31 18:00 UTC
    for n in (1, 2):
        register(event["id"], n, accessibility_needs="Intérprete", accessibility_consent=True)
    ended = datetime(2031, 5, 31, 18, 0, tzinfo=timezone.utc)

    assert registration_retention.anonymise_ended(db, ended + timedelta(days=179), 180) == 0
    assert registration_retention.anonymise_ended(db, ended + timedelta(days=181), 180) == 2
    assert registration_retention.anonymise_ended(db, ended + timedelta(days=182), 180) == 0

    with db.transaction() as session:
        rows = session.execute(text(
            "SELECT name, email, organization, accessibility_needs, status, sector "
            "FROM registrations ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [("", "", "", None, "confirmed", "citizen"),
                                            ("", "", "", None, "waitlisted", "citizen")]
    assert client.get(f"/api/v1/events/{event['id']}").get_json()["seats_left"] == 0


def test_scrubbing_leaves_no_address_in_clear_and_her_arco_request_still_finds_the_calls(
        notifications, bus):
    """An SMTP refusal and a receiver's answer quote the address, and a webhook call keeps whom
    its payload named: once scrubbed the errors keep their code and reason but not the
    address, the email keeps no mailbox key, and the call keeps it only as a keyed hash,
    which her export and erasure still find."""
    from services.notifications import person

    settings = replace(notifications.settings, delivery_context_days=30)
    fact = {"id": "00000000-0000-4000-8000-000000000002", "type": "registration.confirmed",
            "subject": "events/1/registrations/1", "time": NOW.isoformat()}
    with notifications.db.transaction() as session:
        mail = deliveries.record(session, fact, "registration_confirmed", "Ana+x@Example.org",
                                 {"registration": {"name": "Ana"}}, NOW, timedelta(minutes=2),
                                 "abierto.test")
        call = deliveries.record(session, fact, "registration_confirmed", "webhook:1",
                                 fact, NOW, timedelta(minutes=2), "abierto.test")
        mail.state, mail.last_error = deliveries.FAILED, (
            "550 5.1.1 <Ana+x@Example.org>: Recipient address rejected")
        call.kind, call.state, call.mailbox_key = "webhook", deliveries.SENT, "ana@example.org"
        call.last_error = 'HTTP 422: {"refused": {"email": "ana@example.org"}}'
        call.history = [{"action": "replayed", "last_error": "HTTP 422: ana@example.org?"},
                        {"action": "retried", "by": "ops"}]
        for row in (mail, call):
            row.state_changed_at = NOW - timedelta(days=31)
        mail_id, call_id = mail.id, call.id
    assert person.export(notifications.db, settings.keys, "ana@example.org")["webhook_calls"]

    assert retention.apply(notifications.db, bus, settings, NOW)["email contents"] == 2

    with notifications.db.transaction() as session:
        mail, call = session.get(Delivery, mail_id), session.get(Delivery, call_id)
        assert (mail.mailbox_key, mail.last_error) == (
            None, "550 5.1.1 <[address]>: Recipient address rejected")
        assert call.last_error == 'HTTP 422: {"refused": {"email": "[address]"}}'
        assert call.history == [{"action": "replayed", "last_error": "HTTP 422: [address]"},
                                {"action": "retried", "by": "ops"}]
        assert call.mailbox_key.startswith("hmac:") and "ana" not in call.mailbox_key
    (found,) = person.export(notifications.db, settings.keys, "ANA@example.org")["webhook_calls"]
    assert found["id"] == call_id and found["content"] == {}
    # hashed under a key now among the fallbacks: still found after SECRET_KEY rotates
    rotated = replace(settings, secret_key="another-" + settings.secret_key,
                      secret_key_fallbacks=(settings.secret_key,))
    assert person.export(notifications.db, rotated.keys, "ana@example.org")["webhook_calls"]
    assert person.erase(notifications.db, bus, rotated.keys, "ana@example.org", NOW) == 1
    with notifications.db.transaction() as session:
        assert session.get(Delivery, call_id).mailbox_key is None


def test_scrubbing_waits_for_the_mail_cap_that_still_counts_the_mailbox(notifications, bus):
    settings = replace(notifications.settings, delivery_context_days=1, mail_cap="1/5 days")
    fact = {"id": "00000000-0000-4000-8000-000000000003", "type": "registration.confirmed",
            "subject": "events/1/registrations/1", "time": NOW.isoformat()}
    with notifications.db.transaction() as session:
        row = deliveries.record(session, fact, "registration_confirmed", "ana@example.org",
                                {"registration": {"name": "Ana"}}, NOW, timedelta(minutes=2),
                                "abierto.test")
        row.state, row.state_changed_at = deliveries.SENT, NOW - timedelta(days=3)
    assert retention.apply(notifications.db, bus, settings, NOW)["email contents"] == 0
    assert retention.apply(notifications.db, bus, settings, NOW + timedelta(days=3))[
        "email contents"] == 1
