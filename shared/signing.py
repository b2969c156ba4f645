"""Signed, expiring links (cancel a registration, confirm or leave a subscription)."""
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class LinkInvalid(Exception):
    """The link was tampered with, made for another purpose, or has expired."""

    def __init__(self, expired=False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def sign(secret_key, purpose, value):
    """A URL-safe token carrying `value` (an opaque id, never personal data)."""
    return URLSafeTimedSerializer(secret_key, salt=purpose).dumps(value)


def unsign(secret_key, purpose, token, max_age):
    try:
        return URLSafeTimedSerializer(secret_key, salt=purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise LinkInvalid(expired=True) from error
    except BadSignature as error:
        raise LinkInvalid() from error
