"""Registered again: what they already hold, and their own link."""
from services.notifications.mail.registration_email import RegistrationEmail

KIND = RegistrationEmail("registration_repeat", event_types=("registration.repeated",),
                         anonymous=True)
