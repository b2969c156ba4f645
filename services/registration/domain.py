"""The rules of registering: the window, capacity, the waiting list, duplicates, cancelling.

Pure functions over the model objects: they know nothing of HTTP, SQL or Redis, and
return which fact happened so the service layer can record it in the outbox.
"""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import DomainError

CONFIRMED, WAITLISTED, CANCELLED = "confirmed", "waitlisted", "cancelled"


class RegistrationClosed(DomainError):
    status = 409


class InvalidEvent(DomainError):
    status = 422


class NotYourEvent(DomainError):
    status = 403


EVENTS_ADMIN = "events:admin"


def check_may_change(event, token_id, scopes):
    """An events:write token changes only the events it published; events:admin changes any
    (events without a publisher, seeded or older than this rule, only events:admin)."""
    if EVENTS_ADMIN in scopes or (event.created_by_token_id is not None
                                  and event.created_by_token_id == token_id):
        return
    raise NotYourEvent(f"Event {event.id} was published by another token; only that token, "
                       f"or one with the scope `{EVENTS_ADMIN}`, may change it.")


def normalize_email(email):
    """The key that makes "Ana@X.org " and "ana@x.org" one person."""
    return email.strip().lower()


def registration_closes_at(event):
    """Unless the organiser set a time, registration closes when the event starts (and follows it)."""
    return event.registration_closes_at or event.starts_at


def registration_open(event, now):
    return now < registration_closes_at(event) and now < event.ends_at


def seats_left(event):
    """None means unlimited."""
    return None if event.capacity is None else max(event.capacity - event.confirmed_count, 0)


def check_schedule(event):
    """Raise unless the event's times and zone make sense together."""
    if event.ends_at <= event.starts_at:
        raise InvalidEvent("`ends_at` must be after `starts_at`.")
    if registration_closes_at(event) > event.ends_at:
        raise InvalidEvent("`registration_closes_at` must not be after `ends_at`.")
    try:
        ZoneInfo(event.timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidEvent(f"`timezone` {event.timezone!r} is not an IANA zone.") from error
    if event.capacity is not None and event.capacity < event.confirmed_count:
        raise InvalidEvent(
            f"`capacity` cannot be below the {event.confirmed_count} confirmed registrations.")


def register(event, registration, now):
    """Give a new (or returning, previously cancelled) registration its status; return the fact."""
    if not registration_open(event, now):
        raise RegistrationClosed("Registration for this event is closed.")
    if seats_left(event) == 0:
        registration.status = WAITLISTED
        return "registration.waitlisted"
    registration.status = CONFIRMED
    event.confirmed_count += 1
    return "registration.confirmed"


def cancel(event, registration, now):
    """Cancel; return the fact, or None when it was already cancelled (repeat clicks)."""
    if registration.status == CANCELLED:
        return None
    if registration.status == CONFIRMED:
        event.confirmed_count -= 1
    registration.status = CANCELLED
    registration.cancelled_at = now
    return "registration.cancelled"


def promote(event, waitlist):
    """Give freed seats to the first people waiting, in order; return who moved up."""
    free = len(waitlist) if seats_left(event) is None else seats_left(event)
    promoted = list(waitlist[:free])
    for registration in promoted:
        registration.status = CONFIRMED
        event.confirmed_count += 1
    return promoted
