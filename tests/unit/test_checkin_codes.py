"""Check-in codes: the HMAC they carry, written out as before, and verified with every key."""
import base64
import hashlib
import hmac

import pytest

from services.registration import checkin_codes
from shared import signing

KEYS = signing.Keys("door-secret", ("older",))
CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def stock_mac(secret, event_id, registration_id, chars):
    """The MAC as the module documents it: HMAC-SHA256 under the purpose key, in base32."""
    key = signing.derive(secret, checkin_codes.PURPOSE).encode()
    digest = hmac.new(key, f"{event_id}:{registration_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).translate(CROCKFORD).decode()[:chars]


@pytest.mark.parametrize("event_id, registration_id", [(12, 3456), (1, 2147483647), (7, 1)])
def test_a_token_and_code_carry_the_hmac_of_their_event_and_registration(event_id, registration_id):
    mac = stock_mac("door-secret", event_id, registration_id, 20)
    assert checkin_codes.token_and_code(KEYS, event_id, registration_id) == (
        f"ABIERTO:{event_id}:{registration_id}:{mac}", f"{registration_id}-{mac[:6]}")


def test_the_same_codes_as_before():
    """Codes already printed and emailed still open the door: not one character changed."""
    assert checkin_codes.token_and_code(KEYS, 12, 3456) == (
        "ABIERTO:12:3456:DK305MAK9KG657M876PD", "3456-DK305M")


def test_a_code_made_with_an_older_key_verifies_and_a_forged_one_does_not():
    older = signing.Keys("older")
    for made in (checkin_codes.token(older, 12, 3456), checkin_codes.code(older, 12, 3456)):
        checkin_codes.verify(KEYS, checkin_codes.read(made), 12)
    with pytest.raises(checkin_codes.InvalidCode):
        checkin_codes.verify(KEYS, checkin_codes.read("3456-DK305N"), 12)
