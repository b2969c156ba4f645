"""The event is near ("mañana", "en 2 horas"): the event, the invite as it stands, the QR code
that opens the door and the attendee's own link."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel import units

from services.notifications.mail import labels
from services.notifications.mail.kind import REQUEST
from services.notifications.mail.registration_email import RegistrationEmail
from shared import durations

TOMORROW = {"es": "mañana", "en": "tomorrow"}
WITHIN = {"es": "en {}", "en": "in {}"}
_UNITS = ((timedelta(days=1), "duration-day"), (timedelta(hours=1), "duration-hour"),
          (timedelta(minutes=1), "duration-minute"), (timedelta(seconds=1), "duration-second"))


@dataclass(frozen=True, eq=False)
class Reminder(RegistrationEmail):
    def context(self, shared, language):
        words = soon(_offset(shared), language)
        return {**super().context(shared, language), "soon": words,
                "soon_heading": words[:1].upper() + words[1:]}


def soon(offset, language):
    """How long until the event, as the reminder says it: "mañana", "en 2 horas"."""
    if offset == timedelta(days=1):  # sent a day before, at the hour it starts
        return TOMORROW[language]
    for length, unit in _UNITS:  # the largest unit that says it exactly: "en 90 minutos"
        if offset >= length and not offset % length:
            break
    amount = max(1, round(offset / length))
    return WITHIN[language].format(units.format_unit(amount, unit, length="long",
                                                     locale=labels.LOCALES[language]))


def _offset(shared):
    """The reminder's offset; from its due time if the offset is not one we can read."""
    reminder = shared["reminder"]
    try:
        return durations.parse(reminder["offset"])
    except ValueError:
        return (datetime.fromisoformat(shared["event"]["starts_at"])
                - datetime.fromisoformat(reminder["due_at"]))


KIND = Reminder("reminder", event_types=("registration.reminder",), invite=REQUEST,
                invite_seats_only=True, checkin=True)
