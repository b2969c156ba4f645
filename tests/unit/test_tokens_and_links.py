"""Tokens kept only as hashes, signed links, the event envelope, and delivery keys."""
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timezone

import pytest
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from marshmallow import ValidationError

from services.notifications.pipeline.deliveries import idempotency_key
from shared import envelope, signing, tokens

SECRET = "test-secret"
KEYS = signing.Keys(SECRET)
NOW = datetime(2031, 5, 1, 15, 0, tzinfo=timezone.utc)


class FakeSession:
    def __init__(self):
        self.added = []

    def add(self, row):
        self.added.append(row)


class FakeToken:
    def __init__(self, **columns):
        self.__dict__.update(columns)


# --- API tokens -----------------------------------------------------------------------------

def test_create_token_returns_a_prefixed_secret_and_stores_only_its_sha256():
    """The operator sees `abt_...` once; the table holds its SHA-256, never the token."""
    session = FakeSession()
    token = tokens.create_token(session, FakeToken, "organiser", {"registrations:read", "events:write"})
    assert token.startswith("abt_") and len(token) > 40
    (row,) = session.added
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() == tokens.hash_token(token)
    assert token not in repr(vars(row))
    assert row.scopes == "events:write registrations:read"
    assert row.name == "organiser"


def test_two_tokens_are_different():
    """Every token is fresh randomness."""
    session = FakeSession()
    assert tokens.create_token(session, FakeToken, "a", {"x"}) != tokens.create_token(
        session, FakeToken, "b", {"x"})


def test_hash_is_a_64_hex_digest():
    """The stored hash fits the 64-character column."""
    digest = tokens.hash_token("abt_x")
    assert len(digest) == 64 and int(digest, 16) >= 0


# --- signed links ---------------------------------------------------------------------------

def test_a_signed_link_round_trips():
    """The cancel link carries the registration id back."""
    token = signing.sign(KEYS, "cancel-registration", 42)
    assert signing.unsign(KEYS, "cancel-registration", token, max_age=3600) == 42


def test_a_signed_link_carries_no_readable_personal_data():
    """Only an opaque id is signed, so the link cannot leak an email."""
    token = signing.sign(KEYS, "cancel-registration", 42)
    assert "@" not in token


def test_links_are_itsdangerous_tokens_both_ways():
    """Links already sent (signed with the key itself) still open, and ours open with the
    stock serializer and the purpose's derived key: same format."""
    for value in (42, 2147483647):
        sent_before = URLSafeTimedSerializer(SECRET, salt="cancel-registration")
        stock = URLSafeTimedSerializer(signing.derive(SECRET, "cancel-registration"),
                                       salt="cancel-registration")
        ours = signing.sign(KEYS, "cancel-registration", value)
        assert ours.split(".")[0] == stock.dumps(value).split(".")[0]  # the same payload part
        assert stock.loads(ours, max_age=3600) == value
        assert signing.unsign(KEYS, "cancel-registration", stock.dumps(value), 3600) == value
        assert signing.unsign(KEYS, "cancel-registration", sent_before.dumps(value), 3600) == value
        with pytest.raises(BadSignature):  # new links are not signed with the key itself
            sent_before.loads(ours, max_age=3600)


def test_a_link_is_the_token_itsdangerous_makes_in_the_same_second(monkeypatch):
    """Our kept signer and encoder change the cost of a link, not one byte of it."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_900_000_000)
    stock = URLSafeTimedSerializer(signing.derive(SECRET, "cancel-registration"),
                                   salt="cancel-registration")
    for value in (42, 2147483647, 0, -7, "an id", [1, "ñ"]):
        assert signing.sign(KEYS, "cancel-registration", value) == stock.dumps(value)


@pytest.mark.parametrize("digest", ["sha1", "sha256"])
@pytest.mark.parametrize("key", [b"", b"k", b"k" * 64, b"k" * 65, bytes(range(200))])
def test_a_kept_mac_is_hmac(key, digest):
    """Its pads hashed once, the same digest as hmac's, message after message."""
    mac = signing.Mac(key, digest)
    for message in (b"", b"42.axPx8A", bytes(range(256)) * 3):
        assert mac.digest(message) == hmac.digest(key, message, digest)


def _tamper(token):
    payload, stamp, signature = token.split(".")
    return ".".join((payload, stamp, ("A" if signature[0] != "A" else "B") + signature[1:]))


def test_a_tampered_link_is_invalid():
    """Changing one character of the link makes it invalid, not expired."""
    token = signing.sign(KEYS, "cancel-registration", 42)
    with pytest.raises(signing.LinkInvalid) as error:
        signing.unsign(KEYS, "cancel-registration", _tamper(token), max_age=3600)
    assert error.value.expired is False


def test_a_changed_id_in_the_link_is_invalid():
    """Swapping in another registration id breaks the signature."""
    token = signing.sign(KEYS, "cancel-registration", 42)
    other = signing.sign(KEYS, "cancel-registration", 43)
    forged = ".".join([other.split(".")[0]] + token.split(".")[1:])
    with pytest.raises(signing.LinkInvalid):
        signing.unsign(KEYS, "cancel-registration", forged, max_age=3600)


def test_a_link_for_another_purpose_is_invalid():
    """A token signed for one action cannot be replayed for another."""
    token = signing.sign(KEYS, "confirm-subscription", 42)
    with pytest.raises(signing.LinkInvalid) as error:
        signing.unsign(KEYS, "cancel-registration", token, max_age=3600)
    assert error.value.expired is False


def test_a_link_signed_with_another_key_is_invalid():
    """A link from another installation (another secret) is refused."""
    token = signing.sign(signing.Keys("other-secret"), "cancel-registration", 42)
    with pytest.raises(signing.LinkInvalid):
        signing.unsign(KEYS, "cancel-registration", token, max_age=3600)


@pytest.mark.parametrize("value", [2**63, 0, -1, "42", True, None])
def test_a_signed_value_that_is_no_id_is_invalid(value):
    """Only we sign, but should the key leak, a forged link is refused, not a crash on lookup."""
    token = signing.sign(KEYS, "cancel-registration", value)
    with pytest.raises(signing.LinkInvalid):
        signing.unsign(KEYS, "cancel-registration", token, max_age=3600)


def test_an_old_link_is_expired():
    """A link older than max_age says it expired (the page shows 'Enlace vencido')."""
    token = signing.sign(KEYS, "cancel-registration", 42)
    with pytest.raises(signing.LinkInvalid) as error:
        signing.unsign(KEYS, "cancel-registration", token, max_age=-1)
    assert error.value.expired is True


# --- the envelope ---------------------------------------------------------------------------

def fact_data():
    return {
        "registration": {"id": 7, "name": "Ana López", "email": "ana@example.org",
                         "language": "es", "status": "confirmed",
                         "cancel_url": "http://abierto.test/registrations/cancel/x"},
        "event": {"id": 1, "title": "Panel", "starts_at": "2031-05-31T16:00:00+00:00",
                  "ends_at": "2031-05-31T18:00:00+00:00", "timezone": "America/Chihuahua",
                  "venue": "Salón", "address": "Calle Victoria No.4", "city": "Chihuahua",
                  "country": "MX", "host_organization": "Municipio",
                  "url": "http://abierto.test/api/v1/events/1"},
    }


def test_make_builds_a_cloudevents_1_0_envelope():
    """The envelope has every CloudEvents 1.0 attribute we rely on, and validates."""
    made = envelope.make("registration.confirmed", "/abierto/registration",
                         "events/1/registrations/7", fact_data(), now=NOW)
    assert made["specversion"] == "1.0"
    assert uuid.UUID(made["id"])
    assert made["type"] == "registration.confirmed"
    assert made["source"] == "/abierto/registration"
    assert made["subject"] == "events/1/registrations/7"
    assert made["datacontenttype"] == "application/json"
    assert datetime.fromisoformat(made["time"]) == NOW
    assert made["data"] == fact_data()
    assert envelope.validate_envelope(made) is made


def test_an_envelope_survives_the_bus():
    """dumps/loads round-trips through JSON text and validates on the way in."""
    made = envelope.make("registration.promoted", "/abierto/registration", "s", fact_data())
    assert envelope.loads(envelope.dumps(made)) == made
    assert "ó" in envelope.dumps(made)  # UTF-8 kept readable


def test_each_envelope_gets_its_own_id():
    """Two facts never share an id (the consumer deduplicates on it)."""
    a = envelope.make("registration.confirmed", "/s", "x", fact_data())
    b = envelope.make("registration.confirmed", "/s", "x", fact_data())
    assert a["id"] != b["id"]


def test_an_unknown_type_is_refused():
    """A fact that is not in the catalogue cannot be made."""
    with pytest.raises(ValidationError) as error:
        envelope.make("registration.deleted", "/abierto/registration", "s", fact_data())
    assert "type" in error.value.messages


@pytest.mark.parametrize("remove", ["event", "registration"])
def test_data_missing_a_part_is_refused(remove):
    """A fact without its event or registration snapshot is refused before it leaves."""
    data = fact_data()
    del data[remove]
    with pytest.raises(ValidationError) as error:
        envelope.make("registration.confirmed", "/abierto/registration", "s", data)
    assert remove in error.value.messages["data"]


def test_data_missing_a_field_is_refused():
    """The email is required to send the email."""
    data = fact_data()
    del data["registration"]["email"]
    with pytest.raises(ValidationError):
        envelope.make("registration.confirmed", "/abierto/registration", "s", data)


def test_loads_refuses_a_tampered_envelope():
    """An envelope read from the bus with a wrong specversion is refused."""
    made = envelope.make("registration.confirmed", "/s", "x", fact_data())
    text = json.dumps({**made, "specversion": "0.3"})
    with pytest.raises(ValidationError):
        envelope.loads(text)


# --- idempotency keys -----------------------------------------------------------------------

def test_idempotency_key_is_stable():
    """A redelivered CloudEvent finds the same delivery."""
    assert idempotency_key("e1", "registration_confirmed", "ana@x.org") == idempotency_key(
        "e1", "registration_confirmed", "ana@x.org")


@pytest.mark.parametrize("other", [
    ("e2", "registration_confirmed", "ana@x.org"),
    ("e1", "registration_cancelled", "ana@x.org"),
    ("e1", "registration_confirmed", "bea@x.org"),
], ids=["cloudevent", "kind", "recipient"])
def test_idempotency_key_differs_by_cloudevent_kind_and_recipient(other):
    """Another CloudEvent, template or recipient is another email."""
    assert idempotency_key(*other) != idempotency_key("e1", "registration_confirmed", "ana@x.org")


def test_idempotency_key_ignores_case_and_spaces_of_the_recipient():
    """"Ana@X.org " and "ana@x.org" get one email, not two."""
    assert idempotency_key("e1", "k", " Ana@X.ORG ") == idempotency_key("e1", "k", "ana@x.org")


def test_idempotency_key_of_a_stored_delivery_never_changes():
    """Rows recorded before any rename or refactoring keep their key: a CloudEvent
    redelivered after an upgrade must find its delivery, not send a second email."""
    assert idempotency_key("6f1c2a9e-0b3d-4c5e-8f7a-1d2e3f4a5b6c", "registration_confirmed",
                           " Ana@Example.org ") == (
        "33b8b1f47d9e77f7f75b0a86b24a686d26cae44ed999cc83c784e64d220a3a01")


def test_idempotency_key_holds_no_address_in_clear():
    """The key is a 64-hex digest without the address in it."""
    key = idempotency_key("e1", "registration_confirmed", "ana@x.org")
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")
    assert "ana" not in key and "@" not in key
