"""The commitments service as the other services see it: one commitment read over its public
API (notifications for emails and follows, registration for an event's page)."""
import time

import requests

TIMEOUT = 2  # seconds; a slow commitments service must not hold a request or a worker


class UnknownCommitment(Exception):
    """The commitments service says there is no such commitment (404)."""


class CommitmentsUnavailable(Exception):
    """The commitments service did not answer usefully (down, timeout, 5xx, not JSON)."""


class CommitmentsClient:
    def __init__(self, base_url, timeout=TIMEOUT):
        self.base_url, self.timeout = base_url.rstrip("/"), timeout

    def get(self, commitment_id, timeout=None):
        """The commitment's summary: id, number, ogp_id, title {es, en}, status, progress_pct.

        `timeout`: seconds for this call (connecting, then each wait for bytes), else the
        client's own."""
        try:
            response = requests.get(f"{self.base_url}/api/v1/commitments/{commitment_id}",
                                    timeout=timeout or self.timeout)
        except requests.RequestException as error:
            raise CommitmentsUnavailable(type(error).__name__) from error
        if response.status_code == 404:
            raise UnknownCommitment(f"There is no commitment {commitment_id}.")
        if response.status_code != 200:
            raise CommitmentsUnavailable(f"HTTP {response.status_code}")
        try:
            return summary(response.json(), commitment_id)
        except (ValueError, AttributeError, TypeError) as error:
            raise CommitmentsUnavailable(f"unreadable answer: {type(error).__name__}") from error


class RememberingCommitments:
    """A CommitmentsClient that keeps what it read for `ttl` seconds, and keeps away for `pause`
    seconds after the service failed: a page that shows commitments neither asks on every view
    nor waits on a service that is down. In-process; a page's titles may lag by `ttl`."""

    MAX_KEPT = 1000  # commitment ids come from events; a plan has a handful

    def __init__(self, client, ttl=300, pause=30, clock=time.monotonic):
        self.client, self.ttl, self.pause, self.clock = client, ttl, pause, clock
        self._kept = {}  # id -> (until, summary, or None for "there is no such commitment")
        self._away_until = 0.0

    def get(self, commitment_id, timeout=None):
        now = self.clock()
        until, found = self._kept.get(commitment_id, (0.0, None))
        if until > now:
            if found is None:
                raise UnknownCommitment(f"There is no commitment {commitment_id}.")
            return found
        if now < self._away_until:
            raise CommitmentsUnavailable("failed moments ago; not asked again yet")
        try:
            found = self.client.get(commitment_id, timeout=timeout)
        except UnknownCommitment:
            self._keep(commitment_id, None, now)
            raise
        except CommitmentsUnavailable:
            self._away_until = now + self.pause
            raise
        self._keep(commitment_id, found, now)
        return found

    def _keep(self, commitment_id, found, now):
        if len(self._kept) >= self.MAX_KEPT:  # start afresh rather than grow without end
            self._kept = {}
        self._kept[commitment_id] = (now + self.ttl, found)


def summary(body, commitment_id):
    """The few fields emails and pages show, whatever else the commitments API returns."""
    title = body.get("title") or ""
    if not isinstance(title, dict):  # one text: show it in both languages
        title = {"es": str(title), "en": str(title)}
    return {
        "id": body.get("id", commitment_id),
        "number": body.get("number", commitment_id),
        "ogp_id": body.get("ogp_id"),
        "title": {"es": title.get("es") or title.get("en") or "",
                  "en": title.get("en") or title.get("es") or ""},
        "status": body.get("status"),
        "progress_pct": body.get("progress_pct"),
    }
