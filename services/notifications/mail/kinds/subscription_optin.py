"""Double opt-in: nobody gets a commitment's alerts without confirming their address.

No event type produces it: asking to follow records it directly (pipeline/subscriptions.py).
"""
from dataclasses import dataclass

from services.notifications.mail import labels
from services.notifications.mail.follower_email import FollowerEmail
from services.notifications.mail.kind import REQUESTER

CONFIRM_DAYS = 7  # as long as the confirm link lives (mail/links.py)


@dataclass(frozen=True, eq=False)
class OptIn(FollowerEmail):
    def context(self, shared, language):
        return {**super().context(shared, language),
                "confirm_url": labels.page_url(shared["subscription"]["confirm_url"], language),
                "confirm_days": CONFIRM_DAYS}


KIND = OptIn("subscription_optin", audience=REQUESTER, anonymous=True)
