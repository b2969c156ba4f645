"""Rate limits for public actions (register, cancel): per client address, shared by every
worker through Redis, and kept in process memory while Redis is away so they never fail.

The client address is `request.remote_addr`: the peer itself, or, with TRUSTED_PROXY_HOPS=N,
the address N hops from the right of X-Forwarded-For (shared.web wraps the app in ProxyFix).
"""
import functools
import ipaddress
import logging
import math
import os
import threading
import time

import hiredis
from flask import request
from limits import parse_many, storage, strategies
from redis.exceptions import NoScriptError, RedisError, ResponseError

from shared.errors import problem

log = logging.getLogger(__name__)


class PublicRateLimit:
    def __init__(self, redis_url, rates, scope):
        self.rates, self.scope = parse_many(rates), scope
        # Short timeouts: a slow Redis must not make registering slow; memory takes over.
        self.storage = storage.storage_from_string(
            redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.shared = strategies.MovingWindowRateLimiter(self.storage)
        self.local = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._held = threading.local()  # see _connection()

    def retry_after(self, client, *also):
        """Seconds to wait if `client` is over a limit, else None. `also`: pairs of another
        PublicRateLimit at the same Redis and its key, counted in the same round trip, but
        only when this limit lets the request through: a client this limit refuses adds no
        entry to them (otherwise each refused request could make Redis keep a new key, one
        per event id it names). The wait is the longest of every refusing window. The hit is
        counted in every window of this limit that allows it, even when another refuses it."""
        own = [(self, client, rate) for rate in self.rates]
        windows = own + [(limit, key, rate) for limit, key in also for rate in limit.rates]
        try:
            allowed, shared = self._hit_shared(windows, len(own)), True
        except (RedisError, ConnectionError, OSError):
            allowed, shared = self._hit_local(windows, len(own)), False
        waits = [(limit.shared if shared else limit.local).get_window_stats(
                     rate, limit.scope, key).reset_time
                 for (limit, key, rate), ok in zip(windows, allowed) if ok is False]
        return max(1, math.ceil(max(waits) - time.time())) if waits else None

    @staticmethod
    def _hit_local(windows, own):
        """Redis away: each process counts in its own memory, the `also` windows only if
        the first `own` allowed the hit (None: not asked)."""
        allowed = [limit.local.hit(rate, limit.scope, key) for limit, key, rate in windows[:own]]
        if not all(allowed):
            return allowed + [None] * (len(windows) - own)
        return allowed + [limit.local.hit(rate, limit.scope, key)
                          for limit, key, rate in windows[own:]]

    def _hit_shared(self, windows, own):
        """Count the hit in every window in one Redis round trip (the production default
        has two rates, and a registration adds its event's): limits' own moving-window
        script, each entry as its `hit` writes it. When one of the first `own` windows
        refused, the hits made in the others are taken back (a second round trip, for
        refused requests only): None for them."""
        now = time.time()
        entries = [limit.storage.prefixed_key(rate.key_for(limit.scope, key))
                   for limit, key, rate in windows]
        sha = self.storage.lua_acquire_moving_window.sha
        replies = self._round_trip([
            (b"EVALSHA", sha, 1, entry, now, rate.amount, rate.get_expiry(), 1)
            for (_, _, rate), entry in zip(windows, entries)])
        if any(isinstance(reply, NoScriptError) for reply in replies):
            # Redis restarted and forgot the script: the plain calls load it
            allowed = [limit.shared.hit(rate, limit.scope, key) for limit, key, rate in windows]
        elif errors := [reply for reply in replies if isinstance(reply, RedisError)]:
            raise errors[0]
        else:
            allowed = [bool(acquired) for acquired in replies]
        if all(allowed[:own]):
            return allowed
        # limits' moving window keeps a key's hits as a list, newest first (its script
        # LPUSHes each): popping the head takes back the hit just made, and a key that held
        # only that hit goes with it.
        try:
            self._round_trip([(b"LPOP", entry) for entry, acquired
                              in zip(entries[own:], allowed[own:]) if acquired])
        except (RedisError, ConnectionError, OSError):
            pass  # a hit not taken back only holds that client to the limit sooner
        return allowed[:own] + [None] * (len(windows) - own)

    def _round_trip(self, commands):
        """Send `commands` at once and read every reply (a command's error is its reply),
        on a connection used directly: redis-py's pipeline costs more CPU than the round
        trip itself (its queue, retry and bookkeeping layers). hiredis packs them, the
        same bytes as through redis-py, which calls it after a look at every argument."""
        if not commands:
            return []
        connection = self._connection()
        try:
            connection.send_packed_command([b"".join(map(hiredis.pack_command, commands))])
            return [_reply(connection) for _ in commands]
        except BaseException:
            connection.disconnect()  # replies may be left unread: the next use reconnects
            raise

    def _connection(self):
        """This thread's own connection in this process, made by the storage's pool but
        kept out of it: checking one out and back in (locks, pid checks, its counters)
        cost about 20 µs of CPU per request. Like the pool, a socket with something to
        read, or that the server closed (a restart), is dropped before use."""
        held = self._held
        if getattr(held, "pid", None) != os.getpid():  # first use, or a forked child
            held.pid = os.getpid()
            held.connection = self.storage.get_connection().connection_pool.make_connection()
        connection = held.connection
        connection.connect()  # at once when connected; raises when Redis is away
        try:
            stale = connection.can_read()
        except (RedisError, OSError):  # "closed by server"
            stale = True
        if stale:
            connection.disconnect()  # sending connects again
        return connection


def _reply(connection):
    try:
        return connection.read_response()
    except ResponseError as error:
        return error


@functools.lru_cache(maxsize=4096)  # parsing an address costs; a registration asks twice
def address_key(address):
    """The key one client's requests are counted under.

    IPv4 as is. IPv6 by its /64: one subscriber or host is given a whole /64 and can pick
    any address in it, so counting single addresses would let it escape the limit freely.
    An IPv4-mapped IPv6 address (::ffff:a.b.c.d, from dual-stack sockets) is its IPv4 one.
    Anything else (a Unix socket's empty address) is kept as it is.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    network = ipaddress.IPv6Network((int(ip), 64), strict=False)  # int(): drops a %zone
    return str(network)


def client_key():
    """This request's client, as rate limits count it."""
    return address_key(request._get_current_object().remote_addr or "")  # see shared.web.service()


def too_many(wait):
    """The 429 problem every limit answers with."""
    return problem(429, f"Too many requests from this address; try again in {wait} s.",
                   headers={"Retry-After": str(wait)})


def refusal(*also):
    """Count this request against PUBLIC_RATE_LIMIT, and against the `also` limits (pairs
    of a PublicRateLimit and its key) in the same Redis round trip: the 429 to answer if its
    client is over any of them, else None. For a view limited only on some requests (a
    list's change feed)."""
    wait = wait_for(*also)
    return None if wait is None else too_many(wait)


def wait_for(*also):
    """refusal()'s count, for a view that words its own refusal (a form): the seconds this
    client must wait, else None."""
    from shared.web import service

    wait = service().rate_limit.retry_after(client_key(), *also)
    if wait is not None:
        log.info("rate limit reached on %s", request.endpoint)
    return wait


# What a public list's OpenAPI says of the 429 its change feed answers.
FEED_TOO_MANY = ("With `changed_since`: too many requests from this address "
                 "(PUBLIC_RATE_LIMIT); see Retry-After.")


def limited(view=None, *, also=None):
    """Decorate a public view: over the limit answers 429 with Retry-After. `also`, called
    with the view's URL values, gives the further (PublicRateLimit, key) pairs this request
    counts against, in the same Redis round trip (`@limited(also=...)`)."""
    if view is None:
        return functools.partial(limited, also=also)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        refused = refusal(*(also(**kwargs) if also else ()))
        return refused if refused is not None else view(*args, **kwargs)

    return wrapper
