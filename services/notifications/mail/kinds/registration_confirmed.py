"""A seat is the attendee's: the event, the invite for their calendar, their cancel link."""
from services.notifications.mail.kind import REQUEST
from services.notifications.mail.registration_email import RegistrationEmail

KIND = RegistrationEmail("registration_confirmed", event_types=("registration.confirmed",),
                         anonymous=True, with_commitments=True, invite=REQUEST,
                         checkin=True)
