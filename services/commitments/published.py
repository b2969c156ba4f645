"""The domain events commitments publishes (its part of the catalogue, `abierto events`)."""
from marshmallow import Schema, fields

from shared.events import EventType


class Bilingual(Schema):
    """A text in both languages; Spanish is canonical."""

    es = fields.String(required=True)
    en = fields.String(required=True)


class CommitmentSnapshot(Schema):
    """The commitment a fact is about, as it stands after the fact."""

    id = fields.Integer(required=True)
    ogp_id = fields.String(required=True, allow_none=True, metadata={"description": "e.g. MXCHH0003"})
    number = fields.Integer(required=True)
    title = fields.Nested(Bilingual, required=True)
    status = fields.String(required=True, allow_none=True)
    progress_pct = fields.Integer(required=True, allow_none=True)
    url = fields.String(required=True, metadata={"description": "the commitment in the public API"})
    history_url = fields.String(required=True, metadata={"description": "its history in the API"})
    page_url = fields.String(metadata={"description": "the commitment's public page (HTML)"})
    history_page_url = fields.String(metadata={
        "description": "the history on that page (HTML)"})


class MilestoneSnapshot(Schema):
    id = fields.Integer(required=True)
    title = fields.Nested(Bilingual, required=True)


class MilestoneState(Schema):
    """The fields of a milestone a change can touch (dates as ISO 8601 dates)."""

    status = fields.String(required=True)
    progress_pct = fields.Integer(required=True, allow_none=True)
    planned_end = fields.String(required=True, allow_none=True)
    date_met = fields.String(required=True, allow_none=True)


class Evidence(Schema):
    title = fields.String(required=True)
    url = fields.String(required=True)


class HistoryHead(Schema):
    """The public history's tree head right after the change: a copy for followers to hold."""

    size = fields.Integer(required=True, metadata={"description": "entries in the log"})
    root_hash = fields.String(required=True, metadata={"description": "RFC 9162 root, hex"})
    verify_url = fields.String(required=True, metadata={
        "description": "GET /api/v1/history/verify?size=&root= for this head"})
    verify_page_url = fields.String(metadata={
        "description": "the same check as a page people read (HTML)"})


class MilestoneChanged(Schema):
    """Data of `milestone.changed`: before and after, and why."""

    commitment = fields.Nested(CommitmentSnapshot, required=True)
    milestone = fields.Nested(MilestoneSnapshot, required=True)
    before = fields.Nested(MilestoneState, required=True)
    after = fields.Nested(MilestoneState, required=True)
    justification = fields.String(required=True, allow_none=True)
    evidence = fields.List(fields.Nested(Evidence), required=True)
    minor = fields.Boolean(required=True, metadata={"description": "true: nobody is alerted"})
    actor = fields.String(required=True, metadata={"description": "the token's name"})
    # Not required: facts written before the log had heads may still be on the bus.
    history_head = fields.Nested(HistoryHead, metadata={"description": "the log after the change"})


class CommitmentUpdated(Schema):
    """Data of `commitment.updated`: field -> {"old", "new"}."""

    commitment = fields.Nested(CommitmentSnapshot, required=True)
    changes = fields.Dict(keys=fields.String(), required=True)
    actor = fields.String(required=True)


class AssessmentRecorded(Schema):
    commitment = fields.Nested(CommitmentSnapshot, required=True)
    assessment = fields.Dict(required=True, metadata={"description": "as the API shows it"})
    actor = fields.String(required=True)


EVENTS = (
    EventType("milestone.changed",
              "a milestone's status, progress or dates changed", MilestoneChanged),
    EventType("commitment.updated",
              "a commitment's own fields changed", CommitmentUpdated),
    EventType("assessment.recorded",
              "an assessment of a commitment was recorded", AssessmentRecorded),
)
