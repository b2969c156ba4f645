"""Registration's tables: events, registrations, and the shared token and outbox tables."""
from sqlalchemy import (JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column

from shared.changes import Tracked, feed_tables
from shared.tokens import TokenMixin
from shared.db import UTCDateTime, make_base, utcnow
from shared.outbox import OutboxMixin

Base = make_base()
ChangeCounter, FeedTombstone = feed_tables(Base)  # the lists' change feeds (shared.changes)


class ApiToken(TokenMixin, Base):
    pass


class Outbox(OutboxMixin, Base):
    pass


class Event(Tracked, Base):
    """A public event; times in UTC, shown in `timezone`."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))  # Spanish, canonical
    description: Mapped[str] = mapped_column(Text, default="")
    title_en: Mapped[str | None] = mapped_column(String(200), nullable=True)  # None: as Spanish
    description_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    category: Mapped[str] = mapped_column(String(200), default="")
    starts_at = mapped_column(UTCDateTime, nullable=False, index=True)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="", server_default="")  # "": in person only
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    host_organization: Mapped[str] = mapped_column(String(300))
    partners: Mapped[list] = mapped_column(JSON, default=list)
    related_commitments: Mapped[list] = mapped_column(JSON, default=list)  # commitment ids
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    registration_closes_at = mapped_column(UTCDateTime, nullable=True)  # None: at starts_at
    language: Mapped[str] = mapped_column(String(2), default="es")
    # On: a new registration that gets a seat only holds it (`pending`) until its person
    # confirms through the emailed link; a hold not confirmed in PENDING_HOLD expires.
    confirm_by_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Seats taken (confirmed + pending) of an event with a capacity. Without one no
    # registration moves it and nothing reads it (domain.take_seats); given one, the seats
    # already held are counted (service.update_event).
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    # scheduled, rescheduled (moved after publishing), postponed (no date yet) or cancelled;
    # `status_reason` is the organiser's {"es", "en"} word to attendees on the last two.
    status: Mapped[str] = mapped_column(String(12), default="scheduled", server_default="scheduled")
    status_reason: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # Offsets before the start that remind attendees, ISO 8601 ("P1D", "PT2H"); None: REMINDERS.
    reminders: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # Notified changes wait CHANGE_COALESCE so several edits send one email: since when one
    # waits, and the notified fields as attendees last heard of them.
    change_pending_since = mapped_column(UTCDateTime, nullable=True, index=True)
    change_before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The api_tokens.id that published it (None: seeded, or made before owners were kept). A
    # plain id, no foreign key: tokens are revoked, never deleted.
    created_by_token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Registration(Tracked, Base):
    """One person's place (or place in line) at one event."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "email_key"),
        Index("ix_registrations_queue", "event_id", "status", "queued_at"),
        Index("ix_registrations_holds", "status", "held_until"),  # the expirer's lookup
        # Ids are never reused after an erasure, so an old cancel link cannot reach a newcomer.
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    organization: Mapped[str] = mapped_column(String(200), default="")
    sector: Mapped[str] = mapped_column(String(20))
    accessibility_needs: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Needs can tell of health, sensitive data: their own explicit consent, kept with them
    accessibility_consent_at = mapped_column(UTCDateTime, nullable=True)
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(12))
    privacy_consent_at = mapped_column(UTCDateTime, nullable=False)
    queued_at = mapped_column(UTCDateTime, nullable=False)  # place in line: last (re)registration
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    cancelled_at = mapped_column(UTCDateTime, nullable=True)
    held_until = mapped_column(UTCDateTime, nullable=True)  # a `pending` seat's deadline
    # RETENTION_DAYS after its event ended the person is gone from the row; counts stay
    anonymised_at = mapped_column(UTCDateTime, nullable=True)
    # The SEQUENCE of the last calendar invite this person got for their entry (its UID is
    # the registration's): each update goes one higher, so calendars move the entry.
    invite_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checked_in_at = mapped_column(UTCDateTime, nullable=True)
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class EventReminder(Base):
    """A reminder of an event that went out (one row per offset): the claim that keeps
    several sweepers, restarts and replays from sending it twice."""

    __tablename__ = "event_reminders"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    offset_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at = mapped_column(UTCDateTime, nullable=False)


class StaffLink(Tracked, Base):
    """A link that opens one event's check-in page for door staff, until revoked. The link
    carries only this row's id, signed; revoking is setting `revoked_at`."""

    __tablename__ = "staff_links"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_by_token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at = mapped_column(UTCDateTime, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=True)


class MyDataLink(Base):
    """A "Mis datos" link sent to an address. The link carries only this row's id; the row
    says whose data it opens until `expires_at`, and goes with the next request after that."""

    __tablename__ = "my_data_links"
    # Ids are never reused, so an old link cannot open a newcomer's data.
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # as typed
    email_key: Mapped[str] = mapped_column(String(254), index=True)
    language: Mapped[str] = mapped_column(String(2))
    created_at = mapped_column(UTCDateTime, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False, index=True)


class ArcoRequest(Tracked, Base):
    """One ARCO request on record for the transparency office: which right, when it came
    and was done, how it ended and by when it had to be. The person is only a keyed hash of
    the address, enough to link their requests, never to read it back."""

    __tablename__ = "arco_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)  # a UUID, quoted to people
    right: Mapped[str] = mapped_column(String(16))  # access, rectification, cancellation, opposition
    person: Mapped[str] = mapped_column(String(64), index=True)
    received_at = mapped_column(UTCDateTime, nullable=False)
    done_at = mapped_column(UTCDateTime, nullable=True)  # None: not done (see outcome)
    outcome: Mapped[str] = mapped_column(String(200))
    deadline = mapped_column(Date, nullable=False)  # ARCO_RESPONSE_DAYS business days after received
