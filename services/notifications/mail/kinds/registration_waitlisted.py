"""The event is full: the attendee waits, and hears if a seat frees up."""
from services.notifications.mail.registration_email import RegistrationEmail

KIND = RegistrationEmail("registration_waitlisted", event_types=("registration.waitlisted",),
                         anonymous=True)
