"""The event's life after publishing, as pure rules: its status (scheduled, rescheduled,
postponed, cancelled), the changes attendees hear of, and when each reminder is due.

Like domain.py it knows nothing of HTTP, SQL or Redis (the import contract checks it).
"""
from datetime import timedelta, timezone

from services.registration.published import NOTIFIED_FIELDS
from shared import durations
from shared.domain_errors import Conflict

SCHEDULED, RESCHEDULED, POSTPONED, CANCELLED = "scheduled", "rescheduled", "postponed", "cancelled"
# No registering, confirming or reminding while the event has no date or will not happen.
CALLED_OFF = (POSTPONED, CANCELLED)
# Who hears of a change, a cancellation or a postponement: everyone holding or awaiting a seat.
TOLD = ("confirmed", "pending", "waitlisted")
# The longest reminder an event may set (schemas.py), and so how far ahead the sweep looks.
LONGEST_REMINDER = timedelta(days=60)


class EventCancelled(Conflict):
    """A cancelled event is final: it cannot be moved, postponed or cancelled again."""


class EventOver(Conflict):
    """An event that has ended is history: nobody is told it is cancelled or postponed."""


class AlreadyPostponed(Conflict):
    """Postponing a postponed event again would only email everyone twice."""


def _as_heard(value):
    """A notified field's value as attendees hear of it (times as ISO 8601 UTC)."""
    if hasattr(value, "astimezone"):
        return value.astimezone(timezone.utc).isoformat()
    return value or ""


def notified_state(event):
    """The notified fields as they stand, plus the status a move back should restore."""
    return {**{name: _as_heard(getattr(event, name)) for name in NOTIFIED_FIELDS},
            "status": event.status or SCHEDULED}


def check_not_cancelled(event):
    if event.status == CANCELLED:
        raise EventCancelled(f"Event {event.id} was cancelled; a cancelled event is final.")


def after_edit(event, before, notify, now):
    """Apply the rules of an edit the organiser made (`before`: notified_state() before it).

    Return True when a notified field changed and nothing will tell attendees (`notify`
    false, no change pending): the caller then lets reminders follow the new start at once.
    A notified change waits (`change_pending_since`) so several edits send one email with the
    final state; `change_before` keeps what attendees last heard, and stays until it goes out,
    so a later `notify: false` typo fix does not cancel a real move.
    """
    now_state = notified_state(event)
    moved = {name for name in NOTIFIED_FIELDS if now_state[name] != before[name]}
    if not moved:
        return False
    check_not_cancelled(event)
    status = event.status or SCHEDULED
    if "starts_at" in moved and (status == POSTPONED or (notify and status == SCHEDULED)):
        event.status = RESCHEDULED  # a postponed event with a date again is open again
    if event.change_pending_since is not None:
        return False
    if notify:
        event.change_pending_since, event.change_before = now, before
        return False
    return True


def change_due(event, now, coalesce):
    """Whether the pending change has waited `coalesce` (a timedelta) and may go out."""
    return event.change_pending_since is not None and event.change_pending_since + coalesce <= now


def take_changes(event):
    """End the pending change; return {field: {old, new}} of what really differs from what
    attendees last heard (a field changed and changed back is no change). When the start ended
    where it was, the status goes back to what it was (no move, no "rescheduled")."""
    before = event.change_before or {}
    now_state = notified_state(event)
    changes = {name: {"old": before[name], "new": now_state[name]} for name in NOTIFIED_FIELDS
               if name in before and before[name] != now_state[name]}
    if "starts_at" not in changes and event.status == RESCHEDULED and "status" in before:
        event.status = before["status"]
    event.change_pending_since = event.change_before = None
    return changes


def call_off(event, status, reason, now):
    """Cancel or postpone (`status`) with the organiser's reason ({"es", "en"}); a pending
    change is dropped, as this news supersedes it."""
    check_not_cancelled(event)
    if status == POSTPONED and event.status == POSTPONED:
        raise AlreadyPostponed(f"Event {event.id} is postponed already.")
    if now >= event.ends_at:
        raise EventOver(f"Event {event.id} is over; there is nothing to call off.")
    event.status, event.status_reason = status, reason
    event.change_pending_since = event.change_before = None


def offsets(event, default):
    """The event's reminder offsets, {ISO 8601: timedelta}; `default`: the REMINDERS setting."""
    chosen = default if event.reminders is None else event.reminders
    return {offset: durations.parse(offset) for offset in chosen}


def reminders_due(event, default, sent, now):
    """Which reminders to record now: [(offset, due_at, send)], for the offsets not yet in
    `sent` (offset seconds) whose time has come while the event has not started. After an
    outage several may be due at once: only the nearest to the start is sent; the ones it
    overtook are recorded unsent (`send` false), so nobody gets two reminders in a row."""
    if event.status in CALLED_OFF or event.change_pending_since is not None or now >= event.starts_at:
        return []
    due = sorted(((length, offset) for offset, length in offsets(event, default).items()
                  if int(length.total_seconds()) not in sent and event.starts_at - length <= now))
    return [(offset, event.starts_at - length, index == 0)
            for index, (length, offset) in enumerate(due)]


def accepts_registrations(event):
    """Whether the event's status lets people register, confirm or move up at all."""
    return event.status not in CALLED_OFF
