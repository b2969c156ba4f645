"""The organiser cancelled the event: why, in the attendee's language; a confirmed attendee's
calendar entry is removed (CANCEL, the registration's next SEQUENCE)."""
from dataclasses import dataclass

from services.notifications.mail import labels
from services.notifications.mail.kind import CANCEL
from services.notifications.mail.registration_email import RegistrationEmail


@dataclass(frozen=True, eq=False)
class EventCalledOff(RegistrationEmail):
    """Cancelled or postponed: the organiser's reason, in the attendee's language."""

    def context(self, shared, language):
        return {**super().context(shared, language),
                "reason": labels.localised(shared["reason"], language).strip()}


KIND = EventCalledOff("event_cancelled", event_types=("registration.event_cancelled",),
                      invite=CANCEL, invite_seats_only=True)
