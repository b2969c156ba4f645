"""The rules of the door: what a presented code's registration gets, and how a walk-in joins.

Pure functions over the model objects (no HTTP, SQL or Redis), like domain.py. A check-in
writes no fact: nobody is emailed about walking through a door.
"""
from services.registration import lifecycle
from services.registration.domain import (CANCELLED, CONFIRMED, EXPIRED, PENDING, WAITLISTED)
from shared.domain_errors import Conflict, DomainError, Forbidden, Invalid

CHECKED_IN, ALREADY_CHECKED_IN = "checked_in", "already_checked_in"
NOT_FOR_THIS_EVENT, INVALID_CODE = "not_for_this_event", "invalid_code"
EVENT_CANCELLED, EVENT_POSTPONED = "event_cancelled", "event_postponed"
NO_SEAT = (CANCELLED, WAITLISTED, PENDING, EXPIRED)  # the statuses that do not open the door
WALK_IN_KEY = "walk-in:"  # email_key of a walk-in without an address: no address starts so


class CheckInRefused(DomainError):
    """What the refusals below share: `result` is the word the API and the page answer with,
    `registration` whom the code names, {"id", "name", "status"} as they were when refused
    (None when staff may not be told)."""

    def __init__(self, result, detail, registration=None):
        super().__init__(detail)
        self.result = result
        self.registration = None if registration is None else {
            "id": registration.id, "name": registration.name, "status": registration.status}


class NoSeat(CheckInRefused, Conflict):
    """The code is genuine, but its registration holds no seat (cancelled, waiting, ...)."""


class DoorShut(CheckInRefused, Conflict):
    """The event is cancelled or postponed: it has no door today, whatever the code."""


class NotForThisEvent(CheckInRefused, Invalid):
    """A genuine code of another event's registration."""


class InvalidCheckInCode(CheckInRefused, Invalid):
    """Not a code we made: mistyped, tampered with, or of a registration that is gone."""


def invalid_code():
    return InvalidCheckInCode(INVALID_CODE, "This is not a valid check-in code.")


# What door staff read when the event is called off (es, en): the page and the API's detail.
DOOR_SHUT = {EVENT_CANCELLED: ("Evento cancelado: nadie entra", "Event cancelled: nobody goes in"),
             EVENT_POSTPONED: ("Evento pospuesto: nadie entra", "Event postponed: nobody goes in")}


def check_door_open(event):
    """Raise DoorShut while `event` is called off (a rescheduled event opens again): no code
    and no walk-in goes in, so staff see why rather than a name."""
    if event.status in lifecycle.CALLED_OFF:
        result = f"event_{event.status}"
        raise DoorShut(result, " / ".join(f"{words}." for words in DOOR_SHUT[result]))


def admit(registration, event_id):
    """Raise unless `registration` (its code already verified) may go in to `event_id`;
    return ALREADY_CHECKED_IN when it went in before, else CHECKED_IN (to be recorded)."""
    if registration.event_id != event_id:
        raise NotForThisEvent(NOT_FOR_THIS_EVENT, "This code is for another event.")
    if registration.status in NO_SEAT:
        raise NoSeat(registration.status, f"This registration is {registration.status}: "
                                          f"it holds no seat.", registration)
    return ALREADY_CHECKED_IN if registration.checked_in_at is not None else CHECKED_IN


def walk_in_key(unique):
    """The email_key of a walk-in who gave no address: unique, and never a real address."""
    return f"{WALK_IN_KEY}{unique}"


def let_in(registration, now):
    """A person at the door whose address already has a registration here: a pending hold
    becomes their seat; a cancelled, expired or waiting one becomes a walk-in. Return the
    result; a confirmed one is let in as its code would be (already, or now)."""
    if registration.checked_in_at is not None and registration.status == CONFIRMED:
        return ALREADY_CHECKED_IN
    if registration.status in (CANCELLED, EXPIRED, WAITLISTED):
        # No seat taken: a walk-in, like anyone who came without registering.
        registration.walk_in = True
        registration.cancelled_at = None
    registration.status, registration.held_until = CONFIRMED, None
    registration.checked_in_at = now
    return CHECKED_IN


# Why a staff link opens nothing (the page words each; the API says 403).
LINK_REVOKED, LINK_EXPIRED, LINK_OTHER_EVENT = "revoked", "expired", "other_event"


class StaffLinkRefused(Forbidden):
    """A staff link that may not check anyone in here: `reason` is one of the LINK_*."""

    DETAILS = {LINK_REVOKED: "This staff link was revoked.",
               LINK_EXPIRED: "This staff link has expired; ask the organisers for a new one.",
               LINK_OTHER_EVENT: "This staff link is for another event."}

    def __init__(self, reason):
        super().__init__(self.DETAILS[reason])
        self.reason = reason


def check_staff_link(link, event_id):
    """Raise unless `link` (a staff_links row, None if gone) opens `event_id`'s door."""
    if link is None or link.revoked_at is not None:
        raise StaffLinkRefused(LINK_REVOKED)  # a deleted row is a revoked link
    if link.event_id != event_id:
        raise StaffLinkRefused(LINK_OTHER_EVENT)
