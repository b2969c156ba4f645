"""Notifications' tables: one row per email or webhook call (its state is the truth), followers,
webhook endpoints, tokens, outbox."""
from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
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


class Delivery(Tracked, Base):
    """One email to one recipient, or one CloudEvent to one webhook endpoint (kind `webhook`):
    queued -> inflight -> sent | awaiting_retry | failed, or suppressed from the start (its
    mailbox had reached MAIL_CAP)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_state_due", "state", "due_at"),
                      # the mail cap counts a page's mailboxes' recent emails in one look-up
                      Index("ix_deliveries_mailbox_recent", "mailbox_key", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    recipient: Mapped[str] = mapped_column(String(254), index=True)  # as typed: mail goes here
    # mailcap.mailbox_key(recipient), for counting only; NULL on rows older than the cap
    mailbox_key: Mapped[str | None] = mapped_column(String(254), nullable=True)
    cloudevent_id: Mapped[str] = mapped_column(String(36), index=True)  # the CloudEvent it answers
    cloudevent_type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    context: Mapped[dict] = mapped_column(JSON)
    message_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)  # when to (re)try
    state_changed_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at = mapped_column(UTCDateTime, nullable=True)
    # When `context` was emptied, DELIVERY_CONTEXT_DAYS after the email was done with
    context_scrubbed_at = mapped_column(UTCDateTime, nullable=True)
    # What people did to it, oldest first: [{"at", "action": "retried", "by", "from_state",
    # "attempts", "last_error"}]; NULL until someone acts (deliveries.retry)
    history: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # A webhook's: the endpoint it goes to, and the HTTP status of its last try (None: no answer)
    endpoint_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)


class WebhookEndpoint(Tracked, Base):
    """Where an integrator wants some event types POSTed, signed with its secret (Standard
    Webhooks). Disabled by the receiver (410), by failing for WEBHOOK_DISABLE_AFTER, or by hand."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = ({"sqlite_autoincrement": True},)  # an id is never another's again
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    event_types: Mapped[list] = mapped_column(JSON)
    contact_email: Mapped[str] = mapped_column(String(254))  # told when it is disabled
    # whsec_<base64>, sealed (webhooks/sealing.py): a copy of the database signs nothing;
    # opened to sign with, never shown again after it is made
    secret: Mapped[str] = mapped_column(String(255))
    previous_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)
    previous_secret_until = mapped_column(UTCDateTime, nullable=True)  # rotation's overlap
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at = mapped_column(UTCDateTime, nullable=True)
    failing_since = mapped_column(UTCDateTime, nullable=True)  # first failure since a success
    owner_token_id: Mapped[int] = mapped_column(Integer, index=True)  # the token that made it
    created_by: Mapped[str] = mapped_column(String(100))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Subscription(Tracked, Base):
    """One address following one topic: pending -> confirmed -> cancelled (and back to pending)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("email_key", "topic"),
        Index("ix_subscriptions_followers", "topic", "status", "id"),  # the fan-out's pages
        # Ids are never reused after an erasure, so an old link cannot reach a newcomer.
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # as typed: the address mail goes to
    email_key: Mapped[str] = mapped_column(String(254))  # lower/strip: one person, one row
    topic: Mapped[str] = mapped_column(String(50))  # commitment:<id>
    language: Mapped[str] = mapped_column(String(2), default="es")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    confirmed_at = mapped_column(UTCDateTime, nullable=True)
    cancelled_at = mapped_column(UTCDateTime, nullable=True)


class Tombstone(Base):
    """An erased address, as a hash: the facts about it still on the bus when it was erased
    email nobody. Kept only as long as the bus keeps facts (STREAM_RETENTION)."""

    __tablename__ = "tombstones"
    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    erased_at = mapped_column(UTCDateTime, nullable=False)
class Opposition(Base):
    """An address that asked for no email but what an active registration needs (the O of
    ARCO): its kinds that are not `essential` are recorded suppressed, never sent."""

    __tablename__ = "oppositions"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_key: Mapped[str] = mapped_column(String(254), unique=True)  # mailcap.mailbox_key
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
