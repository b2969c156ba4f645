"""Signed, expiring links (cancel a registration, confirm or leave a subscription), and the
keys every purpose signs with."""
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass

from itsdangerous import (BadSignature, SignatureExpired, TimestampSigner,
                          URLSafeTimedSerializer, base64_encode)
from itsdangerous.signer import HMACAlgorithm

from shared.schemas import MAX_INT


class LinkInvalid(Exception):
    """The link was tampered with, made for another purpose, or has expired."""

    def __init__(self, expired=False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


SESSION = "session"  # Flask's session cookie (the forms' CSRF token)


@dataclass(frozen=True)
class Keys:
    """SECRET_KEY and the keys it replaced (SECRET_KEY_FALLBACKS): the one place that says
    which keys sign and verify each purpose."""

    current: str
    fallbacks: tuple = ()

    def for_purpose(self, purpose):
        """The keys for `purpose`, oldest first: the last signs, every one verifies (the
        order itsdangerous and Flask's SECRET_KEY_FALLBACKS expect)."""
        return [derive(secret, purpose) for secret in (*self.fallbacks, self.current)]

    def legacy(self):
        """The keys themselves, which links sent before keys were derived were signed with
        (the purpose was, and is, itsdangerous' salt): they verify, never sign, so an
        unsubscribe link already in a mailbox still works for its year. Links only."""
        return [*self.fallbacks, self.current]


def derive(secret, purpose):
    """HMAC-SHA256(secret, "abierto/" + purpose), the usual one-step key derivation (as in
    HKDF-Expand): a token or cookie made for one purpose never verifies for another, and
    one leaked purpose key tells nothing of SECRET_KEY or the other purposes' keys."""
    return hmac.new(secret.encode(), f"abierto/{purpose}".encode(), hashlib.sha256).hexdigest()


def sign(keys, purpose, value):
    """A URL-safe token carrying `value` (an opaque id, never personal data)."""
    return _serializer(keys, purpose).dumps(value)


def unsign(keys, purpose, token, max_age):
    """The id a token carries; LinkInvalid if tampered, foreign, expired or not an id."""
    try:
        value = _serializer(keys, purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise LinkInvalid(expired=True) from error
    except BadSignature as error:
        raise LinkInvalid() from error
    # Only we can sign, but a leaked key must not turn a link into a crash on lookup.
    if type(value) is not int or not 0 < value <= MAX_INT:
        raise LinkInvalid()
    return value


class Mac:
    """HMAC under one key, keyed once and copied for each message: a copy keeps the key's
    padded forms hashed, which hmac.new hashes again every time, most of the cost of a
    short message's MAC."""

    def __init__(self, key, digest):
        """`key` bytes; `digest` what hmac.new takes as digestmod ("sha256")."""
        self._keyed = hmac.new(key, digestmod=digest)

    def digest(self, message):
        mac = self._keyed.copy()  # the kept one is never updated: threads may share it
        mac.update(message)
        return mac.digest()


class _KeptHMAC(HMACAlgorithm):
    """itsdangerous' HMAC, by a Mac kept for each key."""

    def get_signature(self, key, value):
        macs = self.__dict__.setdefault("_macs", {})
        if key not in macs:
            macs[key] = Mac(key, self.digest_method)
        return macs[key].digest(value)


class _KeptKeySigner(TimestampSigner):
    """itsdangerous' timed signer, deriving each of its keys once, not once per token, and
    signing by a kept Mac (_KeptHMAC)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if type(self.algorithm) is HMACAlgorithm:
            self.algorithm = _KeptHMAC(self.algorithm.digest_method)

    def derive_key(self, secret_key=None):
        keys = self.__dict__.setdefault("_derived", {})
        if secret_key not in keys:
            keys[secret_key] = super().derive_key(secret_key)
        return keys[secret_key]


class _IdSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed tokens, without its attempt to compress the payload, and
    signed by one kept signer (it keeps no state between calls) rather than a new one each."""

    default_signer = _KeptKeySigner  # `signer = ...` would be overwritten by __init__'s default

    def dump_payload(self, obj):
        # An id never compresses (zlib adds at least 6 bytes), so the token is the same, and
        # trying sets up zlib's ~256 KiB of state: most of the time of signing a link.
        # Its JSON as itsdangerous' _CompactJSON writes it: an int's is its digits, anything
        # else's by a kept encoder (json.dumps builds a new one for every call with arguments
        # of its own).
        text = str(obj) if type(obj) is int else _COMPACT_JSON.encode(obj)
        return base64_encode(text.encode())

    def make_signer(self, salt=None):
        if salt is not None and salt != self.salt:
            return super().make_signer(salt)
        if "_signer" not in self.__dict__:
            self._signer = super().make_signer(salt)
        return self._signer


_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=32)
def _serializer(keys, purpose):
    # Every registration signs a link; a serializer keeps no state between calls, so one
    # per key set and purpose spares deriving keys and building it each time.
    return _IdSerializer([*keys.legacy(), *keys.for_purpose(purpose)], salt=purpose)
