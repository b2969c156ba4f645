"""The one bus: Redis Streams, one stream per producer, read by consumer groups.

Delivery is at-least-once: an entry stays pending in its group until acknowledged,
a restarted consumer re-reads its own pending entries first, and entries left by a
dead consumer are reclaimed after `min_idle_ms`.
"""
import redis
from redis.exceptions import ResponseError

MAXLEN = 100_000  # a ceiling for a burst; age (STREAM_RETENTION) is what trims day to day


def stream_name(service):
    return f"abierto.{service}"


def mentioning(text):
    """Whether an entry's fields mention `text` (an email address), whatever its case."""
    text = text.strip().lower()
    return lambda fields: any(text in value.lower() for value in fields.values())


class Bus:
    """A thin layer over a Redis client that speaks in envelopes (JSON text)."""

    def __init__(self, client):
        self.redis = client

    @classmethod
    def from_url(cls, url):
        return cls(redis.Redis.from_url(url, decode_responses=True,
                                        socket_timeout=5, socket_connect_timeout=2))

    def publish(self, stream, payloads):
        """Append events in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.xadd(stream, {"event": payload}, maxlen=MAXLEN, approximate=True)
            return pipe.execute()

    def trim_before(self, stream, moment):
        """Drop the entries added before `moment` (an aware datetime), consumed or not: the
        bus is a passage, not an archive. Returns how many went."""
        oldest_kept = f"{int(moment.timestamp() * 1000)}-0"  # entry ids begin with Redis's ms
        return self.redis.xtrim(stream, minid=oldest_kept, approximate=False)

    def forget(self, stream, mentions, batch=500):
        """Delete every entry of `stream` for which `mentions(fields)` holds; return how many.

        A consumer that already read one and left it pending reads it back empty, and
        skips it."""
        forgotten, start = 0, "-"
        while True:
            entries = self.redis.xrange(stream, min=start, count=batch)
            doomed = [entry_id for entry_id, fields in entries if mentions(fields)]
            if doomed:
                forgotten += self.redis.xdel(stream, *doomed)
            if len(entries) < batch:
                return forgotten
            start = f"({entries[-1][0]}"  # exclusive: after the last one read

    def ensure_group(self, stream, group):
        """Create the group (and stream) once; reading starts at the stream's beginning."""
        try:
            self.redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def read(self, group, consumer, streams, count=100, block_ms=1000, pending=False):
        """Entries for this consumer: its own pending ones (pending=True) or new ones."""
        start = "0" if pending else ">"
        reply = self.redis.xreadgroup(group, consumer, {s: start for s in streams},
                                      count=count, block=None if pending else block_ms)
        return [(stream, entry_id, fields) for stream, entries in reply or []
                for entry_id, fields in entries if fields]

    def ack(self, stream, group, *entry_ids):
        self.redis.xack(stream, group, *entry_ids)

    def reclaim(self, stream, group, consumer, min_idle_ms, count=100):
        """Take over entries another consumer left pending for longer than min_idle_ms."""
        _next, entries, _deleted = self.redis.xautoclaim(stream, group, consumer, min_idle_ms,
                                                         start_id="0-0", count=count)
        return [(stream, entry_id, fields) for entry_id, fields in entries if fields]

    def ping(self):
        return self.redis.ping()
