"""Signed, expiring links (cancel a registration, confirm or leave a subscription), and the
keys every purpose signs with."""
import binascii
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import int_to_bytes
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
    """HMAC (RFC 2104) under one key, whose padded forms are hashed once: hmac.new hashes
    them again for every message, most of the cost of a short message's MAC."""

    def __init__(self, key, digest):
        """`key` bytes; `digest` a hashlib name ("sha256")."""
        block = hashlib.new(digest).block_size
        if len(key) > block:
            key = hashlib.new(digest, key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.new(digest, key.translate(_INNER_PAD))
        self._outer = hashlib.new(digest, key.translate(_OUTER_PAD))

    def digest(self, message):
        # Copies: the kept hashes are never updated, so threads may share one Mac.
        inner, outer = self._inner.copy(), self._outer.copy()
        inner.update(message)
        outer.update(inner.digest())
        return outer.digest()


_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


class _KeptKeySigner(TimestampSigner):
    """itsdangerous' timed signer, deriving each of its keys once, not once per token, and
    signing in one step by a kept Mac: the same bytes as TimestampSigner.sign."""

    def derive_key(self, secret_key=None):
        keys = self.__dict__.setdefault("_derived", {})
        if secret_key not in keys:
            keys[secret_key] = super().derive_key(secret_key)
        return keys[secret_key]

    def sign(self, value):
        """`value`.timestamp.signature, as TimestampSigner.sign writes it (its own
        get_timestamp, and an HMAC-SHA1 of the rest under the derived key)."""
        signed = value + b"." + _url_safe(int_to_bytes(self.get_timestamp()))
        return signed + b"." + _url_safe(self._mac().digest(signed))

    def _mac(self):
        if "_kept_mac" not in self.__dict__:
            # _IdSerializer's signer has itsdangerous' defaults, which sign writes out.
            if not (self.sep == b"." and type(self.algorithm) is HMACAlgorithm
                    and self.digest_method is TimestampSigner.default_digest_method):
                raise ValueError("_KeptKeySigner signs only with itsdangerous' defaults")
            self._kept_mac = Mac(self.derive_key(), "sha1")
        return self._kept_mac


def _url_safe(data):
    """itsdangerous' base64_encode: URL-safe base64 without its padding."""
    return binascii.b2a_base64(data, newline=False).translate(_URL_SAFE).rstrip(b"=")


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


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
        return _url_safe(text.encode())

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
