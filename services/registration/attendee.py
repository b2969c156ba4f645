"""The attendee's own page (the link in every email): what it reads in one transaction — the
registration, its event as it stands now, and the person's place in line while they wait."""
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from services.registration import domain
from services.registration.models import Event, Registration
from shared.domain_errors import NotFound


@dataclass(frozen=True)
class OwnRegistration:
    registration: Registration
    event: Event
    place_in_line: int | None  # 1 = next to get a seat; None unless waitlisted


def own_registration(db, registration_id):
    """What the page shows; NotFound once the registration is erased."""
    with db.transaction() as session:
        registration = session.get(Registration, registration_id)
        if registration is None:
            raise NotFound("This registration no longer exists.")
        event = session.get(Event, registration.event_id)
        place = None
        if registration.status == domain.WAITLISTED:
            # The waiting list's own order (service._waitlist): who queued before, ties by id.
            place = 1 + session.scalar(select(func.count()).select_from(Registration).where(
                Registration.event_id == event.id, Registration.status == domain.WAITLISTED,
                or_(Registration.queued_at < registration.queued_at,
                    and_(Registration.queued_at == registration.queued_at,
                         Registration.id < registration.id))))
        return OwnRegistration(registration, event, place)
