"""Whom a delivery names, once its content is scrubbed (DELIVERY_CONTEXT_DAYS): never the
address in clear. A webhook call keeps a keyed hash of the mailbox its payload named, so the
person's ARCO request still finds the calls that carried their data; an email keeps nothing
(its mailbox key only served the mail cap, whose windows are long past). SMTP errors and
receivers' answers quote addresses: those are replaced by a placeholder, the rest of the
error (its code and reason) stays for the operator."""
import hashlib
import hmac
import re

PURPOSE = "delivery-mailbox"
_PREFIX = "hmac:"  # a clear mailbox key always has an "@", a hashed one never does
_ADDRESS = re.compile(r"[^\s<>()\[\]{}\"',;:]+@[^\s<>()\[\]{}\"',;:]+")
PLACEHOLDER = "[address]"


def hashed(keys, mailbox_key):
    """The form a scrubbed webhook call keeps (shared.signing.Keys; the newest key)."""
    return _hash(keys.for_purpose(PURPOSE)[-1], mailbox_key)


def forms(keys, mailbox_key):
    """Every form a delivery naming this mailbox may hold: in clear, or hashed under any key
    still in SECRET_KEY/SECRET_KEY_FALLBACKS."""
    return [mailbox_key, *(_hash(key, mailbox_key) for key in keys.for_purpose(PURPOSE))]


def _hash(key, mailbox_key):
    return _PREFIX + hmac.new(key.encode(), mailbox_key.encode(), hashlib.sha256).hexdigest()


def without_addresses(text):
    """`text` with every email address in it replaced by PLACEHOLDER (None stays None)."""
    return _ADDRESS.sub(PLACEHOLDER, text) if text else text
