"""A milestone of a followed commitment changed: what changed, why, and the evidence, with
the public history's tree head after the change, so each follower holds a copy of it.

A minor change alerts nobody. Every follower of one change gets the same email but for
their unsubscribe link, which the list headers also carry (RFC 2919, 2369, 8058 one-click).
"""
from dataclasses import dataclass

from services.notifications.mail import labels
from services.notifications.mail.follower_email import FollowerEmail, is_web
from services.notifications.mail.kind import stand_in

DATES = {
    "planned_end": {"es": "Fecha prevista de término", "en": "Planned end date"},
    "date_met": {"es": "Fecha de cumplimiento", "en": "Date met"},
}
_UNSUBSCRIBE = stand_in("unsubscribe")


@dataclass(frozen=True, eq=False)
class MilestoneAlert(FollowerEmail):
    def wanted(self, data):
        return not data["minor"]

    def headers(self, data, mail_domain):
        commitment = data["commitment"]
        number = commitment["number"]
        return {
            "List-Id": f"Compromiso {number} / Commitment {number} "
                       f"<commitment-{int(commitment['id'])}.{mail_domain}>",
            "List-Unsubscribe": f"<{data['subscription']['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }

    def split(self, data, commitments):
        subscription = {"language": self.language(data), "unsubscribe_url": _UNSUBSCRIBE}
        return ({**data, "subscription": subscription},
                {_UNSUBSCRIBE: data["subscription"]["unsubscribe_url"]})

    def context(self, shared, language):
        before, after = shared["before"], shared["after"]

        def both(field, words):  # (before, after) of one milestone field, in words
            return words(before[field], language), words(after[field], language)

        return {
            **super().context(shared, language),
            "milestone": labels.localised(shared["milestone"]["title"], language),
            "status": both("status", labels.status),
            "progress": both("progress_pct", labels.percent),
            "dates": [(names[language], *both(field, labels.day))
                      for field, names in DATES.items() if before[field] != after[field]],
            "justification": (shared.get("justification") or "").strip(),
            "evidence": [{"title": item["title"] or item["url"], "url": item["url"],
                          "linkable": is_web(item["url"])} for item in shared.get("evidence") or []],
            "unsubscribe_url": labels.page_url(shared["subscription"]["unsubscribe_url"],
                                               language),
            "history_head": _head(shared.get("history_head"), language),
        }


def _head(head, language):
    """The history's head and the page that checks it later (absent from older facts; those
    before the page link the API's check)."""
    if not head:
        return None
    return {**head, "verify_url": labels.page_url(head.get("verify_page_url")
                                                  or head["verify_url"], language)}


KIND = MilestoneAlert("milestone_alert", event_types=("milestone.changed",))
