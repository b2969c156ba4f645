"""The rules of registering: the window, capacity, the waiting list, duplicates, cancelling,
and the seats held until their person confirms by email (events with `confirm_by_email`).

Pure functions over the model objects: they know nothing of HTTP, SQL or Redis, and
return which fact happened so the service layer can record it in the outbox.
"""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.registration import lifecycle
from shared.domain_errors import Conflict, Forbidden, Gone, Invalid
# One email, one person (shared with notifications); bench/floor_app.py reads it from here.

CONFIRMED, WAITLISTED, CANCELLED = "confirmed", "waitlisted", "cancelled"
# A seat held until its person confirms through the emailed link; `expired` when they did not.
PENDING, EXPIRED = "pending", "expired"
# The statuses that hold a seat (they count in `event.confirmed_count`)...
HOLDING_A_SEAT = (CONFIRMED, PENDING)
# ...and those that are no registration any more: the same email may register anew.
ENDED = (CANCELLED, EXPIRED)


class RegistrationClosed(Conflict):
    """Registration (or the event) is over: too late to register, confirm or cancel."""


class InvalidEvent(Invalid):
    """The event's schedule breaks a rule (dates out of order, an unknown time zone)."""


class NotYourEvent(Forbidden):
    """Another token published the event."""


EVENTS_ADMIN = "events:admin"


def check_may_change(event, token_id, scopes):
    """An events:write token changes only the events it published; events:admin changes any
    (events without a publisher, seeded or older than this rule, only events:admin)."""
    if EVENTS_ADMIN in scopes or (event.created_by_token_id is not None
                                  and event.created_by_token_id == token_id):
        return
    raise NotYourEvent(f"Event {event.id} was published by another token; only that token, "
                       f"or one with the scope `{EVENTS_ADMIN}`, may change it.")


class HoldLapsed(Gone):
    """The held seat was not confirmed in time (or the registration ended); nothing to confirm."""


def registration_closes_at(event):
    """Unless the organiser set a time, registration closes when the event starts (and follows it)."""
    return event.registration_closes_at or event.starts_at


def registration_open(event, now):
    """Open until it closes or the event ends, and never while postponed or cancelled."""
    return (lifecycle.accepts_registrations(event) and now < registration_closes_at(event)
            and now < event.ends_at)


def seats_left(event):
    """None means unlimited. A pending hold takes a seat, as a confirmed registration does."""
    return None if event.capacity is None else max(event.capacity - event.confirmed_count, 0)


def take_seats(event, seats):
    """Count `seats` taken (given back if negative) on an event with a capacity. One without
    counts none: there is no limit to keep, and its registrations then leave the event's row
    alone (registering_at_once). Its seats are counted when it is given a capacity
    (service.update_event)."""
    if event.capacity is not None:
        event.confirmed_count += seats


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


def register(event, registration, now, pending_hold=None):
    """Give a new (or returning, previously cancelled or expired) registration its status;
    return the fact. On a `confirm_by_email` event a seat is only held, for `pending_hold`
    (a timedelta), until its person confirms."""
    if not registration_open(event, now):
        raise RegistrationClosed("Registration for this event is closed.")
    registration.held_until = None
    if seats_left(event) == 0:
        registration.status = WAITLISTED
        return "registration.waitlisted"
    take_seats(event, 1)
    if event.confirm_by_email:
        if pending_hold is None:
            raise ValueError("a confirm_by_email event needs the pending_hold")
        registration.status = PENDING
        registration.held_until = now + pending_hold
        return "registration.pending"
    registration.status = CONFIRMED
    return "registration.confirmed"


def is_repeat(registration):
    """Whether an existing registration still stands, so registering again changes nothing."""
    return registration.status not in ENDED


def confirm(event, registration, now):
    """Confirm a held seat; return the fact, or None when it was confirmed already (repeat clicks)."""
    if registration.status == CONFIRMED:
        return None
    if registration.status != PENDING or now >= registration.held_until:
        raise HoldLapsed("This seat was not confirmed in time, or the registration ended.")
    if now >= event.ends_at:
        raise RegistrationClosed("This event is over.")
    if not lifecycle.accepts_registrations(event):
        raise RegistrationClosed("This event is postponed or cancelled.")
    registration.status = CONFIRMED
    registration.held_until = None
    return "registration.confirmed"


def hold_lapsed(registration, now):
    return registration.status == PENDING and now >= registration.held_until


def expire(event, registration, now):
    """End a hold whose time is up and free its seat; return the fact (None if not due)."""
    if not hold_lapsed(registration, now):
        return None
    take_seats(event, -1)
    registration.status = EXPIRED
    return "registration.expired"


def cancel(event, registration, now):
    """Cancel; return the fact, or None when it had ended already (repeat clicks, a lapsed hold)."""
    if registration.status in ENDED:
        return None
    if registration.status in HOLDING_A_SEAT and not getattr(registration, "walk_in", False):
        take_seats(event, -1)  # a walk-in took no seat (see checkin_rules)
    registration.status = CANCELLED
    registration.held_until = None
    registration.cancelled_at = now
    return "registration.cancelled"


def promote(event, waitlist):
    """Give freed seats to the first people waiting, in order; return who moved up.

    They are confirmed at once, also on a `confirm_by_email` event: a promotion is not
    something a client can ask for, so there is no abuse for a hold to slow down. Nobody
    moves up while the event is postponed or cancelled (a new date promotes them then)."""
    if not lifecycle.accepts_registrations(event):
        return []
    free = len(waitlist) if seats_left(event) is None else seats_left(event)
    promoted = list(waitlist[:free])
    for registration in promoted:
        registration.status = CONFIRMED
        take_seats(event, 1)
    return promoted
