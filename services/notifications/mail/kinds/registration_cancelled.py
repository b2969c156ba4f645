"""The registration is cancelled; the invite tells calendars to remove the event."""
from services.notifications.mail.kind import CANCEL
from services.notifications.mail.registration_email import RegistrationEmail

KIND = RegistrationEmail("registration_cancelled", event_types=("registration.cancelled",),
                         invite=CANCEL)
