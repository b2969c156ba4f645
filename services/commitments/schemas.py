"""The public contract of the commitments API: field names, types and shape rules."""
from marshmallow import Schema, fields, validate

from services.commitments import domain
from services.commitments import schema_fields as f
from services.commitments.facts import commitment_url
from services.commitments.history import jsonable
from shared.openapi_rules import Order, Stored
from shared.schemas import MAX_INT, ChangesQuery, StrictSchema, UTCDateTime, WholeNumber
from shared.web import service

_PERCENT = {"type": ["integer", "null"], "minimum": 0, "maximum": 100}  # null: no milestones yet
_dates = lambda: fields.Date(allow_none=True, load_default=None)  # noqa: E731


def _url(commitment, suffix=""):
    return commitment_url(service().settings.public_base_url, commitment.id) + suffix


def changes_of(schema_class):
    """A PATCH body schema: every top-level field optional, nested objects still whole.

    (`partial=True` would reach into nested schemas and accept an institution without
    its role or evidence without its URL.)
    """
    return schema_class(partial=tuple(schema_class().load_fields))


class ActionPlanSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    member = f.string(200, 1, required=True, metadata={"example": "Chihuahua (Municipality), Mexico"})
    ordinal = WholeNumber(required=True, validate=validate.Range(1, 1000),
                          metadata={"description": "1 = the member's first plan"})
    title = f.title(required=True)
    submitted_on = _dates()
    period_start = _dates()
    period_end = _dates()
    progress_pct = fields.Function(lambda plan: domain.plan_progress(plan.commitments),
                                   dump_only=True, metadata={
                                       **_PERCENT, "description": "average of its commitments'"})
    commitments_count = fields.Function(lambda plan: len(plan.commitments), dump_only=True,
                                        metadata={"type": "integer", "minimum": 0})
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)

    rules = (Order("period_start", "period_end"),)


class ActionPlanChangesSchema(ActionPlanSchema, f.Why):
    """PATCH body (see `changes_of`): any of the plan's fields, and why."""


class CommitmentSummarySchema(Schema):
    id = fields.Integer()
    ogp_id = fields.String(allow_none=True)
    number = fields.Integer()
    title = f.title()
    status = fields.String(allow_none=True)
    progress_pct = fields.Function(lambda c: domain.commitment_progress(c.milestones),
                                   metadata=_PERCENT)
    url = fields.Function(_url, metadata={"type": "string"})


class ActionPlanDetailSchema(ActionPlanSchema):
    commitments = fields.List(fields.Nested(CommitmentSummarySchema), dump_only=True)


class MilestoneSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    commitment_id = fields.Integer(dump_only=True)
    title = f.title(required=True)
    planned_start = _dates()
    planned_end = _dates()
    date_met = _dates()
    status = f.code("milestone_status", load_default="scheduled")
    progress_pct = WholeNumber(allow_none=True, load_default=None, validate=validate.Range(0, 100))
    responsible = f.string(300, allow_none=True, load_default=None,
                           metadata={"description": "the responsible institution"})
    delayed = fields.Function(
        lambda m: domain.is_delayed(m, domain.local_today(service().clock())), dump_only=True,
        metadata={"type": "boolean", "description": "past planned_end and neither met nor cancelled"})
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)

    rules = (Order("planned_start", "planned_end"),)


class MilestoneChangesSchema(f.Why):
    """PATCH body: a new status or date needs a `justification`; `minor` alerts nobody."""

    status = f.code("milestone_status")
    progress_pct = WholeNumber(allow_none=True, validate=validate.Range(0, 100))
    planned_end = fields.Date(allow_none=True)
    date_met = fields.Date(allow_none=True)
    minor = fields.Boolean(load_default=False, load_only=True)
    rules = (Order("planned_start", "planned_end"),)  # against the stored start (domain)


class AssessmentSchema(StrictSchema, f.NormalisedCodes):
    VOCABULARY_OF = {name: name for name in (
        "completion", "did_it_open_government", "verifiable", "potential_for_results")}

    id = fields.Integer(dump_only=True)
    commitment_id = fields.Integer(dump_only=True)
    assessor = f.string(300, 1, required=True,
                        metadata={"example": "Grupo Impulsor de Gobierno Abierto"})
    kind = f.code("assessment_kinds", required=True)
    assessed_on = fields.Date(required=True)
    completion = f.code("completion", allow_none=True, load_default=None)
    did_it_open_government = f.code("did_it_open_government", allow_none=True, load_default=None)
    verifiable = f.code("verifiable", allow_none=True, load_default=None)
    potential_for_results = f.code("potential_for_results", allow_none=True, load_default=None)
    notes = f.long_text()
    url = f.url(allow_none=True, load_default=None)
    recorded_at = UTCDateTime(dump_only=True)


class CommitmentSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    action_plan_id = WholeNumber(required=True, validate=validate.Range(1, MAX_INT))
    ogp_id = f.ogp_id()
    number = WholeNumber(required=True, validate=validate.Range(1, 1000))
    title = f.title(required=True)
    problem = f.long_text()
    status_quo = f.long_text()
    action = f.long_text(metadata={"description": "OGP's \"What is the commitment?\""})
    start_date = _dates()
    end_date = _dates()
    ogp_values = f.code_list("ogp_values")
    challenge_areas = f.code_list("challenge_areas")
    institutions = fields.List(fields.Nested(f.Institution), load_default=list,
                               validate=validate.Length(max=50))
    status = f.code("commitment_status", allow_none=True, load_default=None)
    progress_pct = fields.Function(lambda c: domain.commitment_progress(c.milestones),
                                   dump_only=True, metadata=_PERCENT)
    url = fields.Function(_url, dump_only=True, metadata={"type": "string"})
    history_url = fields.Function(lambda c: _url(c, "/history"), dump_only=True,
                                  metadata={"type": "string"})
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)

    rules = (Order("start_date", "end_date"),
             Stored("action_plan_id", "exists", refers_to="GET /api/v1/action-plans/{plan_id}",
                    es="`action_plan_id` nombra un plan de acción guardado.",
                    en="`action_plan_id` must name a stored action plan."))


class CommitmentChangesSchema(CommitmentSchema, f.Why):
    """PATCH body (see `changes_of`): any of the commitment's fields but its plan, and why."""

    class Meta(StrictSchema.Meta):
        exclude = ("action_plan_id",)


class CommitmentDetailSchema(CommitmentSchema):
    milestones = fields.List(fields.Nested(MilestoneSchema), dump_only=True)
    assessments = fields.List(fields.Nested(AssessmentSchema), dump_only=True)


class CommitmentQuery(ChangesQuery):
    action_plan = fields.Integer(validate=validate.Range(1, MAX_INT))
    challenge_area = f.code("challenge_areas")
    ogp_value = f.code("ogp_values")
    status = f.code("commitment_status")


class HistoryEntrySchema(Schema):
    id = fields.Integer()
    occurred_at = fields.Function(lambda e: jsonable(e.occurred_at), metadata={
        "type": "string", "description": "UTC, with microseconds: the text that was hashed"})
    commitment_id = fields.Integer(allow_none=True)
    subject = fields.Function(lambda e: {"type": e.subject_type, "id": e.subject_id},
                              metadata={"type": "object"})
    field = fields.String(metadata={"description": "a field's name, or `created`"})
    old_value = fields.Raw(allow_none=True)
    new_value = fields.Raw(allow_none=True)
    justification = fields.String(allow_none=True)
    evidence = fields.List(fields.Nested(f.Evidence))
    actor = fields.String()
    previous_hash = fields.String()
    hash = fields.String()
