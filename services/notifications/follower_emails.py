"""What a follower's emails say: the opt-in request and the milestone alert (pure)."""
from urllib.parse import urlsplit

from services.notifications import labels
from services.notifications.runtime import mail_domain_of

KINDS = ("subscription_optin", "milestone_alert")
CONFIRM_DAYS = 7
DATES = {
    "planned_end": {"es": "Fecha prevista de término", "en": "Planned end date"},
    "date_met": {"es": "Fecha de cumplimiento", "en": "Date met"},
}


def language(data):
    return data["subscription"]["language"]


def address(data):
    return data["subscription"]["email"]


def context(kind, data, language):
    """The template variables of one language's section; `topic` ends the subject line."""
    commitment = data["commitment"]
    common = {
        "topic": labels.localised(commitment["title"], language),
        "commitment": {"number": commitment["number"], "ogp_id": commitment.get("ogp_id"),
                       "title": labels.localised(commitment["title"], language),
                       "history_url": commitment.get("history_url")},
    }
    if kind == "subscription_optin":
        return {**common, "confirm_url": data["subscription"]["confirm_url"],
                "confirm_days": CONFIRM_DAYS}
    before, after = data["before"], data["after"]

    def both(field, words):  # (before, after) of one milestone field, in words
        return words(before[field], language), words(after[field], language)

    return {
        **common,
        "milestone": labels.localised(data["milestone"]["title"], language),
        "status": both("status", labels.status),
        "progress": both("progress_pct", labels.percent),
        "dates": [(names[language], *both(field, labels.day))
                  for field, names in DATES.items() if before[field] != after[field]],
        "justification": (data.get("justification") or "").strip(),
        "evidence": [{"title": item["title"] or item["url"], "url": item["url"],
                      "linkable": _is_web(item["url"])} for item in data.get("evidence") or []],
        "unsubscribe_url": data["subscription"]["unsubscribe_url"],
    }


def headers(kind, data, mail_from):
    """List headers on alerts (RFC 2919, 2369 and 8058 one-click); none on the opt-in."""
    if kind != "milestone_alert":
        return {}
    commitment = data["commitment"]
    number = commitment["number"]
    return {
        "List-Id": f"Compromiso {number} / Commitment {number} "
                   f"<commitment-{int(commitment['id'])}.{mail_domain_of(mail_from)}>",
        "List-Unsubscribe": f"<{data['subscription']['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _is_web(url):
    # Evidence comes from another service; only http(s) becomes a link (no javascript: etc.).
    return urlsplit(str(url)).scheme in ("http", "https")
