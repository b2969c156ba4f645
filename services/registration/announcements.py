"""Use cases that tell every attendee of an event the same news: the event was cancelled or
postponed (at once), its time or place changed (CHANGE_COALESCE after the first edit), or it
starts soon (REMINDERS). One transaction per event, under the event's row lock as every
use case that decides for an event, so sweepers running at once never tell anyone twice.
"""
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.registration import domain, lifecycle
from services.registration.facts import registration_facts
from services.registration.models import Event, EventReminder, Outbox, Registration
from services.registration.service import _event_for_update, follow_the_start
from shared import durations, outbox


# What a fact says of an attendee (facts.registration_facts), read as plain rows: loading
# thousands of ORM objects cost a fan-out five times the CPU, for no change made to them.
ATTENDEE = (Registration.id, Registration.name, Registration.email, Registration.language,
            Registration.status, Registration.invite_sequence, Registration.held_until)


def call_off(db, event_id, status, reason, links, now, token_id, scopes):
    """Cancel or postpone (`status`) the event with the organiser's `reason` ({"es", "en"}),
    if the token may change it; everyone holding or awaiting a seat is told at once."""
    with db.transaction() as session:
        event = _event_for_update(session, event_id)
        domain.check_may_change(event, token_id, scopes)
        lifecycle.call_off(event, status, reason, now)
        _tell_attendees(session, event, f"registration.event_{status}", links, now, reason=reason)
    return event


def send_changes(db, links, now, coalesce, events=100):
    """Tell attendees of the changes that have waited `coalesce` (a timedelta); return how
    many attendees were told."""
    with db.transaction() as session:
        due = session.scalars(select(Event.id).where(Event.change_pending_since <= now - coalesce)
                              .order_by(Event.change_pending_since).limit(events)).all()
    return sum(_send_event_changes(db, event_id, links, now, coalesce) for event_id in due)


def _send_event_changes(db, event_id, links, now, coalesce):
    with db.transaction() as session:
        event = _event_for_update(session, event_id)
        # Read after the lock: another sweeper may have sent it (and cleared it) meanwhile.
        if not lifecycle.change_due(event, now, coalesce):
            return 0
        changes = lifecycle.take_changes(event)
        follow_the_start(session, event, now)
        if not changes:
            return 0
        told = _tell_attendees(session, event, "registration.event_changed", links, now,
                               changes=changes)
    return told


def _tell_attendees(session, event, fact_type, links, now, **extra):
    """One fact to each attendee, with a calendar invite one revision newer (SEQUENCE + 1)."""
    # Walk-ins were added at the door, some without an address: they hear nothing by email.
    told = (Registration.event_id == event.id, Registration.status.in_(lifecycle.TOLD),
            Registration.walk_in.is_(False))
    session.execute(update(Registration).where(*told)
                    .values(invite_sequence=Registration.invite_sequence + 1)
                    .execution_options(synchronize_session=False))
    attendees = session.execute(select(*ATTENDEE).where(*told).order_by(Registration.id)).all()
    return _record_each(session, fact_type, attendees, event, links, now, **extra)


def _record_each(session, fact_type, registrations, event, links, now, **extra):
    """One fact per registration, written in one batch; return how many."""
    outbox.add_all(session, Outbox,
                   registration_facts(fact_type, registrations, event, links, now, **extra))
    return len(registrations)


def send_reminders(db, links, now, default, events=100):
    """Send the reminders due (offsets: the event's own, else `default`, REMINDERS); return
    how many attendees were reminded. Only events starting within the longest offset are read."""
    horizon = max([lifecycle.LONGEST_REMINDER, *map(durations.parse, default)])
    upcoming = (Event.starts_at > now, Event.starts_at <= now + horizon,
                Event.status.not_in(lifecycle.CALLED_OFF), Event.change_pending_since.is_(None))
    with db.transaction() as session:
        candidates = session.scalars(select(Event).where(*upcoming).order_by(Event.starts_at)).all()
        sent = {}
        for event_id, offset_seconds in session.execute(
                select(EventReminder.event_id, EventReminder.offset_seconds).join(Event)
                .where(*upcoming)):
            sent.setdefault(event_id, set()).add(offset_seconds)
        due = [event.id for event in candidates
               if lifecycle.reminders_due(event, default, sent.get(event.id, set()), now)]
    reminded = 0
    for event_id in due[:events]:
        try:
            reminded += _send_event_reminders(db, event_id, links, now, default)
        except IntegrityError:  # another sweeper claimed it first: its row is the claim
            continue
    return reminded


def _send_event_reminders(db, event_id, links, now, default):
    reminded = 0
    with db.transaction() as session:
        event = _event_for_update(session, event_id)
        # Read after the lock, as the event stands now: moved, called off, or reminded meanwhile.
        sent = set(session.scalars(select(EventReminder.offset_seconds)
                                   .where(EventReminder.event_id == event_id)))
        for offset, due_at, send in lifecycle.reminders_due(event, default, sent, now):
            session.add(EventReminder(event_id=event_id, sent_at=now,
                                      offset_seconds=int(durations.parse(offset).total_seconds())))
            session.flush()  # the claim first: a second claimer fails here, before any fact
            if not send:
                continue
            reminder = {"offset": offset, "due_at": due_at.isoformat()}
            # Those who registered after the reminder's time knew already.
            reminded += _record_each(session, "registration.reminder", session.execute(
                select(*ATTENDEE).where(
                    Registration.event_id == event_id, Registration.status == domain.CONFIRMED,
                    Registration.walk_in.is_(False), Registration.queued_at < due_at).order_by(Registration.id)).all(),
                event, links, now, reminder=reminder)
    return reminded
