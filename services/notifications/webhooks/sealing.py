"""Endpoint secrets at rest: sealed under a key derived from SECRET_KEY, so that a copy of the
database (a backup, a replica, a dump) cannot sign a webhook a receiver would trust.

Standard Webhooks signs with the secret itself (HMAC-SHA256), so it cannot be hashed like a
password: it is encrypted with Fernet (AES-128-CBC and HMAC-SHA256, `cryptography`) and
opened each time a call is signed. SECRET_KEY seals; it and every SECRET_KEY_FALLBACKS key
open, so a rotated key keeps deliveries signed, and `reseal` moves what an older key sealed
to the current one (the sweeper's hourly round), before that key leaves the fallbacks.
"""
import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PURPOSE = "webhook-secrets"  # its own key, derived (shared.signing.derive): never a link's
CLEAR = "whsec_"  # how a secret in clear begins; a sealed one never does


class Unreadable(Exception):
    """Sealed under a key that is neither SECRET_KEY nor one of SECRET_KEY_FALLBACKS."""


@functools.lru_cache(maxsize=8)
def _ring(keys):
    """Fernet keys, the current first (it seals), then the fallbacks, newest first."""
    return MultiFernet([Fernet(base64.urlsafe_b64encode(bytes.fromhex(key)))
                        for key in reversed(keys.for_purpose(PURPOSE))])


def seal(keys, secret):
    """The secret as stored: a Fernet token under the current key."""
    return _ring(keys).encrypt(secret.encode()).decode("ascii")


def unseal(keys, sealed):
    """The secret in clear; Unreadable if no key we hold sealed it."""
    try:
        return _ring(keys).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise Unreadable("the webhook secret was sealed with a key that is neither "
                         "SECRET_KEY nor in SECRET_KEY_FALLBACKS") from error


def reseal(keys, sealed):
    """`sealed` under the current key, or None if it already is (nothing to write)."""
    current = Fernet(base64.urlsafe_b64encode(bytes.fromhex(keys.for_purpose(PURPOSE)[-1])))
    try:
        current.decrypt(sealed.encode("ascii"))
        return None
    except InvalidToken:
        return seal(keys, unseal(keys, sealed))
