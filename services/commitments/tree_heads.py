"""Signed tree heads: the log's size and root hash at a moment, signed with Ed25519.

What is signed is the UTF-8 text `abierto-history\\n{size}\\n{root_hash}\\n{timestamp}\\n`
(root hash in hex, timestamp as the head shows it), so a verifier needs no code of ours.
The private key lives in a file (HISTORY_SIGNING_KEY_FILE), outside the database.
"""
import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import timezone

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.config import ConfigError

ORIGIN = "abierto-history"


def message(size, root_hash, timestamp):
    return f"{ORIGIN}\n{size}\n{root_hash}\n{timestamp}\n".encode("utf-8")


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @property
    def public_key(self):
        """The raw 32-byte public key."""
        return self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw)

    def describe(self):
        """The public key as GET /history/key shows it."""
        return {"algorithm": "Ed25519",
                "public_key": base64.b64encode(self.public_key).decode(),
                "key_id": hashlib.sha256(self.public_key).hexdigest(),
                "signed_text": f"{ORIGIN}\\n{{size}}\\n{{root_hash}}\\n{{timestamp}}\\n"}

    def sign(self, size, root, now):
        """The head of a tree of `size` leaves whose root hash is `root` (bytes), at `now`."""
        timestamp = now.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        timestamp = timestamp.replace("+00:00", "Z")
        signature = self.key.sign(message(size, root.hex(), timestamp))
        return {"size": size, "root_hash": root.hex(), "timestamp": timestamp,
                "signature": base64.b64encode(signature).decode(),
                "key_id": hashlib.sha256(self.public_key).hexdigest()}


def keygen(path):
    """Write a new private key to `path` (PEM, readable by its owner only); never overwrites.
    Written under another name and then linked, so a reader never sees half a key."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        os.link(partial, path)  # FileExistsError if another process got there first
    finally:
        partial.unlink()
    return load(path)


def load(path):
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ConfigError(f"HISTORY_SIGNING_KEY_FILE={str(path)!r} is not an unencrypted "
                          f"Ed25519 private key in PEM: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"HISTORY_SIGNING_KEY_FILE={str(path)!r} is not an Ed25519 key")
    return Signer(key)


def load_signer(settings):
    """The configured key. Fails closed: outside development a missing key stops the
    process; in development one is made at the default place on first use."""
    path = settings.history_signing_key_file
    if path is None:
        raise ConfigError("HISTORY_SIGNING_KEY_FILE is not set; make a key with: "
                          "abierto history keygen PATH")
    if not path.is_file():
        if settings.environment != "development":
            raise ConfigError(f"HISTORY_SIGNING_KEY_FILE={str(path)!r} is not a file; make a "
                              f"key with: abierto history keygen {path}")
        try:
            return keygen(path)
        except FileExistsError:  # another process of the local stack made it meanwhile
            pass
    return load(path)
