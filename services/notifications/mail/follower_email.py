"""The emails to a follower of a commitment, whose name is not known: the commitment they follow."""
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.notifications.mail import labels
from services.notifications.mail.kind import FOLLOWERS, EmailKind


@dataclass(frozen=True, eq=False)
class FollowerEmail(EmailKind):
    audience: str = FOLLOWERS

    def recipient(self, data):
        return "", data["subscription"]["email"]

    def language(self, data):
        return data["subscription"]["language"]

    def context(self, shared, language):
        """What every follower email shows; `topic` ends the subject line."""
        commitment = shared["commitment"]
        title = labels.localised(commitment["title"], language)
        return {
            "topic": title,
            "commitment": {"number": commitment["number"], "ogp_id": commitment.get("ogp_id"),
                           "title": title, "history_url": labels.page_url(
                               commitment.get("history_page_url") or _history_page(commitment),
                               language)},
        }


def is_web(url):
    # Evidence comes from another service; only http(s) becomes a link (no javascript: etc.).
    return urlsplit(str(url)).scheme in ("http", "https")


def _history_page(commitment):
    """The history on the commitment's page, for facts written before they carried it."""
    return commitment.get("history_url", "").replace("/api/v1/commitments/", "/commitments/", 1
                                                     ).removesuffix("/history") + "#s-history"
