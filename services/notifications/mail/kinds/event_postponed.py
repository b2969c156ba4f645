"""The organiser postponed the event until a new date is set: why, and that the new date will
come by email with the updated invite; the calendar entry stays as it is until then."""
from services.notifications.mail.kinds.event_cancelled import EventCalledOff

KIND = EventCalledOff("event_postponed", event_types=("registration.event_postponed",))
