"""Outages of the database or the bus: told apart from bugs, waited out, said once.

A database restart (a minor upgrade, a failover) must be a non-event: the web apps answer
503 with Retry-After (shared/errors.py), and the background processes keep running and try
again with a capped backoff, logging one line when the outage begins and one when it ends,
never one per attempt.
"""
import time

from redis.exceptions import RedisError
from sqlalchemy import exc

FIRST_WAIT, LONGEST_WAIT = 0.5, 30.0  # seconds: a retry waits twice the last, up to 30 s
RETRY_AFTER = "5"  # seconds, what a 503 tells a client to wait


def database_away(error):
    """Whether `error` says the database cannot answer now (down, restarting, unreachable,
    a file it cannot open, a lock or pool wait that timed out), not that a statement is wrong."""
    if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)):
        return True
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)


def away(error):
    """Whether `error` says the database or the bus (Redis) is away."""
    return isinstance(error, RedisError) or database_away(error)


def cause(error):
    """A one-line reason: the driver's first line, never statement parameters."""
    text = str(getattr(error, "orig", None) or error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


class Outage:
    """One process's view of one outage: the first failure logs a line, the first success
    after it logs another; in between, each failure answers how long to wait before the
    next try (FIRST_WAIT doubling up to LONGEST_WAIT)."""

    def __init__(self, what, log, first=FIRST_WAIT, longest=LONGEST_WAIT, clock=time.monotonic):
        self.what, self.log, self.first, self.longest, self.clock = what, log, first, longest, clock
        self.since, self.next_wait = None, first

    @property
    def ongoing(self):
        return self.since is not None

    def failed(self, error):
        """Note a failed try; the seconds to wait before the next one."""
        if self.since is None:
            self.since = self.clock()
            self.log.warning("%s is unavailable (%s); trying again every %g s doubling up to %g s",
                             self.what, cause(error), self.first, self.longest)
        wait, self.next_wait = self.next_wait, min(self.next_wait * 2, self.longest)
        return wait

    def wait(self, error):
        """Note a failed try and wait before the next."""
        time.sleep(self.failed(error))

    def recovered(self):
        """Note a try that worked: the end of the outage, if there was one."""
        if self.since is not None:
            self.log.warning("%s answers again, after %.1f s", self.what, self.clock() - self.since)
            self.since, self.next_wait = None, self.first

