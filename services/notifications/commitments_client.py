"""The commitments service as notifications sees it: one read over its public API."""
import requests

TIMEOUT = 2  # seconds; a slow commitments service must not hold a request or a worker


class UnknownCommitment(Exception):
    """The commitments service says there is no such commitment (404)."""


class CommitmentsUnavailable(Exception):
    """The commitments service did not answer usefully (down, timeout, 5xx, not JSON)."""


class CommitmentsClient:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")

    def get(self, commitment_id):
        """The commitment's summary: id, number, ogp_id, title {es, en}, status, progress_pct."""
        try:
            response = requests.get(f"{self.base_url}/api/v1/commitments/{commitment_id}",
                                    timeout=TIMEOUT)
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


def summary(body, commitment_id):
    """The few fields emails show, whatever else the commitments API returns."""
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
