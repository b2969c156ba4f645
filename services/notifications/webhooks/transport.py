"""The one module that talks HTTP to receivers: a signed POST, short timeouts, no redirects,
and only to the address that was checked (the socket's own peer, so DNS rebinding cannot
swap a private address in between the check and the connection)."""
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks import Webhook
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import Timeout

from services.notifications.webhooks.addresses import not_public

TIMEOUT = Timeout(connect=3.0, total=10.0)  # a receiver answers at once and works later
KEPT_BODY = 1024  # bytes of the receiver's answer kept, for the delivery log's error
USER_AGENT = "Abierto-Webhooks/1"


class PrivateAddress(Exception):
    """The host resolved, at send time, to an address webhooks may not reach."""


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (refused, timed out, private address)
    detail: str  # the start of the body, or what went wrong


def signature(secrets, webhook_id, timestamp, body):
    """`webhook-signature`: one `v1,<base64>` per secret, space-separated (the newest first)."""
    return " ".join(Webhook(secret).sign(webhook_id, timestamp, body) for secret in secrets)


def headers(webhook_id, timestamp, secrets, body):
    """The Standard Webhooks headers of one attempt (the id is the same on every attempt)."""
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature(secrets, webhook_id, timestamp, body),
            "Content-Type": "application/json", "User-Agent": USER_AGENT}


def post(adapter, url, body, headers):
    """POST once; the receiver's status and the first KEPT_BODY bytes of its answer.

    The adapter sends the one request and nothing else: a redirect is an answer like any
    other (requests' Session would read the whole body of one before handing it back)."""
    try:
        request = requests.Request("POST", url, data=body, headers=headers).prepare()
        response = adapter.send(request, stream=True, timeout=TIMEOUT, verify=True, proxies={})
    except PrivateAddress as error:
        return Answer(None, str(error))
    except (requests.RequestException, ValueError) as error:
        reason = error.__context__ if isinstance(error.__context__, PrivateAddress) else error
        return Answer(None, f"{type(reason).__name__}: {reason}"[:KEPT_BODY])
    try:
        start = response.raw.read(KEPT_BODY, decode_content=True) or b""
    except Exception:  # noqa: BLE001 - the status is the answer; the body is a courtesy
        start = b""
    finally:
        response.close()
    return Answer(response.status_code, start.decode("utf-8", "replace"))


def adapter(allow_private):
    """What sends webhooks: unless `allow_private`, every connection's peer address is
    checked before a byte is sent. Proxies from the environment are not used."""
    return HTTPAdapter() if allow_private else _CheckedAdapter()


class _PeerChecked:
    def _new_conn(self):
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        why = not_public(peer)
        if why:
            sock.close()
            raise PrivateAddress(f"{self.host} resolved to {peer}, a {why} address")
        return sock


class _HTTP(_PeerChecked, HTTPConnection):
    pass


class _HTTPS(_PeerChecked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPS


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
