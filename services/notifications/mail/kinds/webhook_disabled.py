"""An integrator's webhook endpoint was switched off: the receiver said 410 Gone, or it kept
failing for WEBHOOK_DISABLE_AFTER. Its contact is told what, why, and how to turn it on.

No event from the bus produces it: the worker that disables the endpoint records it
(webhooks/delivering.py)."""
from dataclasses import dataclass

from services.notifications.mail.kind import REQUESTER, EmailKind

TOPIC = {"es": "Webhook desactivado", "en": "Webhook disabled"}


@dataclass(frozen=True, eq=False)
class WebhookDisabled(EmailKind):
    def recipient(self, data):
        return "", data["requester"]["email"]

    def language(self, data):
        return data["requester"]["language"]

    def split(self, data, commitments):
        return {"endpoint": data["endpoint"], "why": data["why"],
                "failing_since": data.get("failing_since")}, {}

    def context(self, shared, language):
        return {"topic": TOPIC[language], **shared}


KIND = WebhookDisabled("webhook_disabled", audience=REQUESTER, essential=True)
