"""Commitments' tables: plans, commitments, milestones, assessments, history, tokens, outbox."""
from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


class ActionPlan(Tracked, Base):
    """One OGP action plan of a member (ordinal 1 = its first)."""

    __tablename__ = "action_plans"
    __table_args__ = (UniqueConstraint("member", "ordinal"),)
    RECORDED = ("member", "ordinal", "title", "submitted_on", "period_start", "period_end")
    id: Mapped[int] = mapped_column(primary_key=True)
    member: Mapped[str] = mapped_column(String(200))
    ordinal: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict] = mapped_column(JSON)  # {"es", "en"}
    submitted_on = mapped_column(Date, nullable=True)
    period_start = mapped_column(Date, nullable=True)
    period_end = mapped_column(Date, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    # Loaded with the plan: its progress rolls up from them, and sessions close before dumping.
    commitments = relationship("Commitment", lazy="selectin",
                               order_by="(Commitment.number, Commitment.id)")


class Commitment(Tracked, Base):
    """A commitment of a plan; texts are {"es", "en"} with Spanish canonical."""

    __tablename__ = "commitments"
    __table_args__ = (UniqueConstraint("action_plan_id", "number"),)
    RECORDED = ("action_plan_id", "ogp_id", "number", "title", "problem", "status_quo", "action",
                "start_date", "end_date", "ogp_values", "challenge_areas", "institutions",
                "status")
    id: Mapped[int] = mapped_column(primary_key=True)
    action_plan_id: Mapped[int] = mapped_column(ForeignKey("action_plans.id"), index=True)
    ogp_id: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict] = mapped_column(JSON)
    problem: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    status_quo: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    action: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    start_date = mapped_column(Date, nullable=True)
    end_date = mapped_column(Date, nullable=True)
    ogp_values: Mapped[list] = mapped_column(JSON, default=list)
    challenge_areas: Mapped[list] = mapped_column(JSON, default=list)
    institutions: Mapped[list] = mapped_column(JSON, default=list)  # [{"name", "role"}]
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    milestones = relationship("Milestone", lazy="selectin", order_by="Milestone.id")
    assessments = relationship("Assessment", lazy="selectin", order_by="Assessment.id")


class Milestone(Base):
    """An activity with a verifiable deliverable; `delayed` is derived, never stored."""

    __tablename__ = "milestones"
    RECORDED = ("title", "planned_start", "planned_end", "date_met", "status", "progress_pct",
                "responsible")
    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    title: Mapped[dict] = mapped_column(JSON)
    planned_start = mapped_column(Date, nullable=True)
    planned_end = mapped_column(Date, nullable=True)
    date_met = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    progress_pct: Mapped[int | None] = mapped_column(Integer, nullable=True)
    responsible: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Assessment(Base):
    """A dated rating by a named assessor; append-only (a re-rating is a new row)."""

    __tablename__ = "assessments"
    RECORDED = ("assessor", "kind", "assessed_on", "completion", "did_it_open_government",
                "verifiable", "potential_for_results", "notes", "url")
    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id"), index=True)
    assessor: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30))
    assessed_on = mapped_column(Date, nullable=False)
    completion: Mapped[str | None] = mapped_column(String(30), nullable=True)
    did_it_open_government: Mapped[str | None] = mapped_column(String(30), nullable=True)
    verifiable: Mapped[str | None] = mapped_column(String(30), nullable=True)
    potential_for_results: Mapped[str | None] = mapped_column(String(30), nullable=True)
    notes: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    recorded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class HistoryEntry(Base):
    """One change, hash-chained to the entry before it (one chain per database)."""

    __tablename__ = "history"
    __table_args__ = (Index("ix_history_subject", "subject_type", "subject_id"),)
    # Ids are given by the appender under its lock, so each is known before hashing.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at = mapped_column(UTCDateTime, nullable=False)
    # Not a foreign key: the log stands on its own and outlives any row it describes.
    commitment_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(50))
    old_value = mapped_column(JSON, nullable=True)
    new_value = mapped_column(JSON, nullable=True)
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    evidence: Mapped[list] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(100))
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
