"""Signed, expiring links (cancel a registration, confirm or leave a subscription)."""
import functools

from itsdangerous import (BadSignature, Serializer, SignatureExpired, URLSafeTimedSerializer,
                          base64_encode)

from shared.schemas import MAX_INT


class LinkInvalid(Exception):
    """The link was tampered with, made for another purpose, or has expired."""

    def __init__(self, expired=False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def sign(secret_key, purpose, value):
    """A URL-safe token carrying `value` (an opaque id, never personal data)."""
    return _serializer(secret_key, purpose).dumps(value)


def unsign(secret_key, purpose, token, max_age):
    """The id a token carries; LinkInvalid if tampered, foreign, expired or not an id."""
    try:
        value = _serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise LinkInvalid(expired=True) from error
    except BadSignature as error:
        raise LinkInvalid() from error
    # Only we can sign, but a leaked key must not turn a link into a crash on lookup.
    if type(value) is not int or not 0 < value <= MAX_INT:
        raise LinkInvalid()
    return value


class _IdSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed tokens, without its attempt to compress the payload."""

    def dump_payload(self, obj):
        # An id never compresses (zlib adds at least 6 bytes), so the token is the same, and
        # trying sets up zlib's ~256 KiB of state: most of the time of signing a link.
        return base64_encode(Serializer.dump_payload(self, obj))


@functools.lru_cache(maxsize=32)
def _serializer(secret_key, purpose):
    # Every registration signs a link; a serializer keeps no state between calls, so one
    # per key and purpose spares building it (and its trial JSON dump) each time.
    return _IdSerializer(secret_key, salt=purpose)
