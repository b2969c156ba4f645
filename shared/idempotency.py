"""Idempotent POSTs (IETF draft-ietf-httpapi-idempotency-key-header): a POST to any service's
API that carries `Idempotency-Key` runs once; the same request again within 24 h gets the
first answer back (`Idempotent-Replayed: true`) and changes nothing.

The record lives in Redis under a slot named by an HMAC of (caller, key): the caller is the
bearer token sent, or, without one, the client address as rate limits count it, so one
caller's key never reaches another's answer and Redis holds no token, address or key in
clear. Beside the answer it keeps the request's fingerprint (method, path and query, body),
so a key reused for a different request is refused (422) rather than answered wrongly.

While the first request runs, its slot holds a short lease; a repeat waits up to WAIT for the
answer (ten retries sent at once all get it), then answers 409. Answers that say nothing
about the write (401, 403, 429, 5xx) are not kept: the lease is dropped and a retry runs.

Redis away: a request with a key is refused with 503 and nothing runs, since running it
unguarded is what the client asked us not to do; requests without a key never touch Redis
here. Redis lost between the write and keeping its answer: the answer goes out, and a
retry after the lease (LEASE) would run again; this is logged.
"""
import base64
import hashlib
import hmac
import json
import secrets
import time

import redis
from redis.exceptions import RedisError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEEP = 24 * 3600  # seconds an answer is replayed for
LEASE = 60  # seconds a running request holds its slot (a crashed worker's lets go then)
WAIT = 2.0  # seconds a repeat waits for the first answer before answering 409
POLL = 0.05
MAX_KEY = 255
NOT_KEPT = frozenset({401, 403, 429})  # about the caller or the rate, not the write
KEPT_HEADERS = ("Content-Type", "Location", "Content-Disposition", "Content-Language", "ETag")

# Compare-and-set: only the request that holds the lease may write its slot, so a request
# slower than LEASE cannot overwrite the answer of the one that took over.
_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1
end
return 0
"""


class Unavailable(Exception):
    """Redis did not answer: the key cannot be checked."""


class IdempotencyStore:
    """The records of one service's keys in Redis."""

    def __init__(self, client, service, secret):
        self.redis, self.prefix, self.secret = client, f"abierto:idempotency:{service}:", secret
        self._swap = client.register_script(_SWAP)

    @classmethod
    def from_url(cls, url, service, secret):
        # Short timeouts: a Redis that hangs must answer 503 quickly, not hold the worker.
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_timeout=1,
                                        socket_connect_timeout=1), service, secret)

    def slot(self, caller, key):
        digest = hmac.new(self.secret.encode(), f"{caller}\x00{key}".encode(), hashlib.sha256)
        return self.prefix + digest.hexdigest()

    def begin(self, slot, fingerprint):
        """(lease, None) when this request is the first: it runs, holding `lease`; else
        (None, record) of the request that came first ("running" or "done")."""
        lease = json.dumps({"state": "running", "fingerprint": fingerprint,
                            "nonce": secrets.token_hex(8)})
        try:
            for _ in range(3):  # the first's lease may lapse between SET and GET
                if self.redis.set(slot, lease, nx=True, ex=LEASE):
                    return lease, None
                found = self.redis.get(slot)
                if found is not None:
                    return None, json.loads(found)
        except RedisError as error:
            raise Unavailable(type(error).__name__) from error
        raise Unavailable("the slot changed hands three times")

    def wait(self, slot):
        """The record once it is no longer running, or the running one after WAIT."""
        deadline = time.monotonic() + WAIT
        try:
            while True:
                found = self.redis.get(slot)
                record = json.loads(found) if found else None
                if record is None or record["state"] != "running" or time.monotonic() > deadline:
                    return record
                time.sleep(POLL)
        except RedisError as error:
            raise Unavailable(type(error).__name__) from error

    def finish(self, slot, lease, response):
        """Keep `response` as the answer to replay (or let the slot go, if it is not kept)."""
        record = "" if not replayable(response.status_code) else json.dumps({
            "state": "done", "fingerprint": json.loads(lease)["fingerprint"],
            "status": response.status_code,
            "headers": [[name, response.headers[name]] for name in KEPT_HEADERS
                        if name in response.headers],
            "body": base64.b64encode(response.get_data()).decode()})
        self._swap(keys=[slot], args=[lease, record, KEEP])

    def release(self, slot, lease):
        self._swap(keys=[slot], args=[lease, "", 0])


def replayable(status):
    return status < 500 and status not in NOT_KEPT


def parse_key(values):
    """The key from the header's values (an RFC 8941 sf-string, or the bare text most clients
    send), or raise ValueError saying what is wrong."""
    if len(values) != 1:
        raise ValueError(f"Send one {HEADER} header, not {len(values)}.")
    text = values[0].strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not text:
        raise ValueError(f"{HEADER} is empty.")
    if len(text) > MAX_KEY:
        raise ValueError(f"{HEADER} is longer than {MAX_KEY} characters.")
    if not all(" " <= char <= "~" for char in text):
        raise ValueError(f"{HEADER} must be printable ASCII, e.g. a UUID.")
    return text


def fingerprint(method, full_path, body):
    """What makes two requests the same request: where they go and what they carry."""
    digest = hashlib.sha256(f"{method} {full_path}\n".encode())
    digest.update(body)
    return digest.hexdigest()
