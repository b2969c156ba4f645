"""Turns a change into the envelope the outbox carries: the event-carried state of `registration.*`."""
import operator

from services.registration import checkin_codes
from shared import envelope, signing, wording

SOURCE = "/abierto/registration"
CANCEL_PURPOSE = "cancel-registration"
CONFIRM_PURPOSE = "confirm-registration"
MY_DATA_PURPOSE = "my-data"
DESCRIPTION_SHOWN = 500  # characters of an event's description a fact carries


class Links:
    """The public URLs this service puts in emails."""

    def __init__(self, base_url, keys):
        self.base_url, self.keys = base_url, keys  # keys: shared.signing.Keys

    def event(self, event_id):
        """The event's public page, for people (emails and invites add the reader's `lang`)."""
        return f"{self.base_url}/events/{event_id}"

    def event_api(self, event_id):
        """The event in the public API, for machines."""
        return f"{self.base_url}/api/v1/events/{event_id}"

    def cancel(self, registration_id):
        token = signing.sign(self.keys, CANCEL_PURPOSE, registration_id)
        return f"{self.base_url}/registrations/cancel/{token}"

    def confirm(self, registration_id):
        token = signing.sign(self.keys, CONFIRM_PURPOSE, registration_id)
        return f"{self.base_url}/registrations/confirm/{token}"


    def my_data(self, link_id):
        token = signing.sign(self.keys, MY_DATA_PURPOSE, link_id)
        return f"{self.base_url}/my-data/{token}"


def my_data_subject(link_id):
    return f"my-data/{link_id}"


def my_data_fact(link, url, valid_hours, now):
    """The envelope of `arco.requested`: the link goes to the address that asked for it."""
    data = {"requester": {"email": link.email, "language": link.language, "url": url,
                          "valid_hours": valid_hours}}
    return envelope.make("arco.requested", SOURCE, my_data_subject(link.id), data, now=now)


# What event_snapshot reads of an event: the registering use case loads no more than these
# and what the rules need (services.registration.service).
SNAPSHOT_SCALARS = ("id", "title", "title_en", "description", "description_en", "status",
                    "starts_at", "ends_at", "timezone", "venue", "address", "online_url",
                    "city", "country", "host_organization")
SNAPSHOT_READS = (*SNAPSHOT_SCALARS, "related_commitments")


def event_snapshot(event, links):
    """The event as a fact carries it (published.EventSnapshot); it reads SNAPSHOT_READS.
    One for each state of an event, kept: its facts share it (an envelope.Shared), so the
    outbox's check digests it once, not once per registration."""
    key = _snapshot_key(event, links)
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is None:
        snapshot = envelope.Shared(_new_snapshot(event, links))
        if len(_SNAPSHOTS) >= SNAPSHOTS_KEPT:
            _SNAPSHOTS.clear()  # the events being registered for come back at once
        _SNAPSHOTS[key] = snapshot
    return snapshot


SNAPSHOTS_KEPT = 64
# Snapshots by _snapshot_key: shared by threads, each step of it whole under the GIL; a
# race only makes one twice.
_SNAPSHOTS = {}
_READ_SCALARS = operator.attrgetter(*SNAPSHOT_SCALARS)


def _snapshot_key(event, links):
    """What a snapshot is made of, such that equal keys make the same snapshot: the values
    and their types (1 == 1.0 == True), and the times' UTC offsets (equal instants are
    written apart)."""
    scalars, related = _READ_SCALARS(event), tuple(event.related_commitments or ())
    return (links.base_url, scalars, tuple(map(type, scalars)), related,
            tuple(map(type, related)), event.starts_at.utcoffset(), event.ends_at.utcoffset())


def _new_snapshot(event, links):
    return {
        "id": event.id, "title": event.title, "title_en": event.title_en,
        # Shortened: the invite shows them, and a fact goes to every attendee; the whole
        # text is at `api_url`.
        "description": wording.shorten(event.description or "", DESCRIPTION_SHOWN),
        "description_en": wording.shorten(event.description_en or "", DESCRIPTION_SHOWN) or None,
        "status": event.status or "scheduled",
        "starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat(),
        "timezone": event.timezone, "venue": event.venue, "address": event.address,
        "online_url": event.online_url or "", "city": event.city, "country": event.country,
        "host_organization": event.host_organization, "url": links.event(event.id),
        "api_url": links.event_api(event.id),
        "related_commitments": list(event.related_commitments or []),
    }


def registration_fact(type_, registration, event, links, now, **extra):
    """The envelope for one `registration.*` fact; `extra` goes beside `registration` and
    `event` (a change's `changes`, a cancellation's `reason`, a `reminder`)."""
    return registration_facts(type_, [registration], event, links, now, **extra)[0]


def registration_facts(type_, registrations, event, links, now, **extra):
    """registration_fact for each of an event's `registrations` (objects or rows with their
    columns), in order: the event's part, the same in every one, is made and checked once
    (shared.envelope.make_all)."""
    snapshot = event_snapshot(event, links)
    return envelope.make_all(type_, SOURCE, [
        (f"events/{event.id}/registrations/{registration.id}",
         {"registration": _attendee(registration, event, links), "event": snapshot, **extra})
        for registration in registrations], now=now)


def _attendee(registration, event, links):
    attendee = {
        "id": registration.id, "name": registration.name, "email": registration.email,
        "language": registration.language, "status": registration.status,
        "cancel_url": links.cancel(registration.id),
        "invite_sequence": registration.invite_sequence or 0,
    }
    position = getattr(registration, "waitlist_position", None)  # set on the waitlisted path
    if position is not None:
        attendee["waitlist_position"] = position
    if registration.status == "pending":  # a held seat: the link that confirms it, and until when
        attendee.update(confirm_url=links.confirm(registration.id),
                        held_until=registration.held_until.isoformat())
    if registration.status == "confirmed":  # a seat: what opens the door
        attendee["checkin_token"], attendee["checkin_code"] = checkin_codes.token_and_code(
            links.keys, event.id, registration.id)
    return attendee
