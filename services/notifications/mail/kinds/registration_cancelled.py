"""The registration is cancelled; the invite tells calendars to remove the event, if the
person was ever sent one: a seat confirmed (registration_confirmed, _promoted carry REQUEST).
Someone waiting or holding an unconfirmed seat has no entry to remove (RFC 5546 §3.2.5: a
CANCEL withdraws what the organiser sent)."""
from dataclasses import dataclass

from services.notifications.mail.kind import CANCEL
from services.notifications.mail.registration_email import RegistrationEmail


@dataclass(frozen=True, eq=False)
class RegistrationCancelled(RegistrationEmail):
    def invite_for(self, data):
        # Facts older than `cancelled_from` keep the CANCEL: a stray one removes nothing.
        return None if data.get("cancelled_from") in ("pending", "waitlisted") else CANCEL


KIND = RegistrationCancelled("registration_cancelled", event_types=("registration.cancelled",),
                             invite=CANCEL)
