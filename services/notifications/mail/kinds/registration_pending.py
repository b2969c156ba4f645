"""A seat held until the person confirms through the link, by a deadline."""
from services.notifications.mail.registration_email import RegistrationEmail

KIND = RegistrationEmail("registration_pending", event_types=("registration.pending",),
                         anonymous=True)
