"""Registered again: what they already hold, their own link and, with a seat, what opens the
door (the check-in QR code and short code), as in the confirmation they may have lost."""
from services.notifications.mail.registration_email import RegistrationEmail

KIND = RegistrationEmail("registration_repeat", event_types=("registration.repeated",),
                         anonymous=True, checkin=True)
