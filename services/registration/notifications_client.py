"""The notification service as the "Mis datos" pages see it: a person's follows, emails and
opposition, over its ARCO API with a service token (never its database)."""
import requests

TIMEOUT = 5  # seconds; the person waits on the page


class NotificationsUnavailable(Exception):
    """The notification service did not answer usefully (down, refused the token, 5xx)."""


class NotificationsClient:
    def __init__(self, api_url, token):
        self.api_url, self.token = api_url.rstrip("/"), token  # token: None when not set

    def export(self, email):
        """{subscriptions, deliveries, webhook_calls: [...], opposed: bool} held for the address."""
        return self._post("/api/v1/arco/export", {"email": email})

    def set_preferences(self, email, **changes):
        """Oppose (opposed=True/False) or correct the alerts' language (language="es")."""
        return self._post("/api/v1/arco/preferences", {"email": email, **changes})

    def erase(self, email):
        """How many rows the notification service erased for the address."""
        return self._post("/api/v1/arco/erase", {"email": email})["erased"]

    def _post(self, path, body):
        if not self.token:
            raise NotificationsUnavailable("NOTIFICATIONS_API_TOKEN is not set")
        try:
            response = requests.post(f"{self.api_url}{path}", json=body, timeout=TIMEOUT,
                                     headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as error:
            raise NotificationsUnavailable(type(error).__name__) from error
        if response.status_code != 200:
            raise NotificationsUnavailable(f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as error:
            raise NotificationsUnavailable("unreadable answer") from error
