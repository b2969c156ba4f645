"""A seat freed up and is now the waiting attendee's, with the invite for their calendar."""
from services.notifications.mail.kind import REQUEST
from services.notifications.mail.registration_email import RegistrationEmail

KIND = RegistrationEmail("registration_promoted", event_types=("registration.promoted",),
                         with_commitments=True, invite=REQUEST,
                         checkin=True)
