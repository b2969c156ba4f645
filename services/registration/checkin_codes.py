"""What a person shows at the door: a check-in token for the QR code and, beside it, a short
code they can read aloud. Both name the registration and carry an HMAC over it and its
event, so only we can make one and staff can tell a forged code from a foreign one.

QR token: ``ABIERTO:<event id>:<registration id>:<20 characters>`` (upper case and ':' keep
the QR code small: its alphanumeric mode). Short code: ``<registration id>-<6 characters>``.
Characters are Crockford's base32: no I, L, O or U, so what is heard is what is typed.
"""
import functools
import hmac
import re
from dataclasses import dataclass

from shared import signing

PURPOSE = "checkin"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TOKEN_CHARS, _CODE_CHARS = 20, 6  # 100 bits in the QR code; 30 bits read aloud, online only
_TOKEN = re.compile(r"ABIERTO:(\d{1,10}):(\d{1,10}):([0-9A-Z]{20})")
_CODE = re.compile(r"(\d{1,10})[-\s]*([0-9A-Z]{6})")
# What people and scanners mistype: O for 0, I or L for 1, lower case, spaces.
_READ_ALOUD = str.maketrans({"O": "0", "I": "1", "L": "1"})


class InvalidCode(Exception):
    """Not a code we made: mistyped, tampered with, or made with a key we no longer hold."""


@dataclass(frozen=True)
class Presented:
    """A code as presented at the door: who it names, not yet checked (see `verify`)."""

    event_id: int | None  # None: a short code, which names only the registration
    registration_id: int
    mac: str


def token(keys, event_id, registration_id):
    """The QR code's content for one registration."""
    return token_and_code(keys, event_id, registration_id)[0]


def code(keys, event_id, registration_id):
    """The short code printed beside the QR code, e.g. ``1234-K7M4QX``."""
    return token_and_code(keys, event_id, registration_id)[1]


def token_and_code(keys, event_id, registration_id):
    """Both, from one HMAC: a MAC's characters are its digest's bits from the first, so the
    code's 6 are the token's first 6."""
    mac = _mac(_signing_mac(keys), event_id, registration_id, _TOKEN_CHARS)
    return f"ABIERTO:{event_id}:{registration_id}:{mac}", f"{registration_id}-{mac[:_CODE_CHARS]}"


def read(text):
    """What a scanned or typed code names; InvalidCode if it has neither shape."""
    cleaned = (text or "").strip().upper()
    if match := _TOKEN.fullmatch(cleaned):
        return Presented(int(match[1]), int(match[2]), match[3])
    if match := _CODE.fullmatch(cleaned.translate(_READ_ALOUD)):
        return Presented(None, int(match[1]), match[2])
    raise InvalidCode("not a check-in code")


def verify(keys, presented, event_id):
    """Raise InvalidCode unless `presented` was made by us for this registration at
    `event_id`, the registration's own event (read from the database, not the code)."""
    if presented.event_id is not None and presented.event_id != event_id:
        raise InvalidCode("the code names another event than its registration's")
    for key in keys.for_purpose(PURPOSE):
        expected = _mac(_kept_mac(key), event_id, presented.registration_id, len(presented.mac))
        if hmac.compare_digest(expected, presented.mac):
            return
    raise InvalidCode("the code's signature does not match")


@functools.lru_cache(maxsize=8)
def _signing_mac(keys):
    # Derived once per Keys: a fan-out makes two codes for each of thousands of attendees.
    return _kept_mac(keys.for_purpose(PURPOSE)[-1])


@functools.lru_cache(maxsize=16)
def _kept_mac(key):
    """The HMAC-SHA256 under a purpose key, its pads hashed once (signing.Mac)."""
    return signing.Mac(key.encode(), "sha256")


# Every 10 bits as its two characters: half the steps of writing a MAC out.
_PAIRS = [first + second for first in _ALPHABET for second in _ALPHABET]


def _mac(mac, event_id, registration_id, chars):
    """The first `chars` characters of the MAC's digest in base32, most significant first."""
    digest = mac.digest(f"{event_id}:{registration_id}".encode())
    pairs = (chars + 1) // 2
    number = int.from_bytes(digest, "big") >> (256 - 10 * pairs)
    return "".join([_PAIRS[(number >> (10 * i)) & 1023] for i in range(pairs - 1, -1, -1)])[:chars]
