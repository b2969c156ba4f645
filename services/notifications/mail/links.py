"""The signed links a follower receives: confirm (7 days) and unsubscribe (a year)."""
from shared import signing

CONFIRM = "confirm-subscription"
UNSUBSCRIBE = "unsubscribe"
MAX_AGE = {CONFIRM: 7 * 24 * 3600, UNSUBSCRIBE: 365 * 24 * 3600}
PATHS = {CONFIRM: "/subscriptions/confirm/", UNSUBSCRIBE: "/subscriptions/unsubscribe/"}


class Links:
    """Builds and reads this service's public links; the payload is only the subscription id."""

    def __init__(self, base_url, keys):
        self.base_url, self.keys = base_url.rstrip("/"), keys  # keys: shared.signing.Keys

    def confirm(self, subscription_id):
        return self._url(CONFIRM, subscription_id)

    def unsubscribe(self, subscription_id):
        return self._url(UNSUBSCRIBE, subscription_id)

    def subscription_id(self, purpose, token):
        """The id a token carries; raise signing.LinkInvalid if tampered, foreign or expired."""
        return signing.unsign(self.keys, purpose, token, MAX_AGE[purpose])

    def _url(self, purpose, subscription_id):
        token = signing.sign(self.keys, purpose, subscription_id)
        return f"{self.base_url}{PATHS[purpose]}{token}"
