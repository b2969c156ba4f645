"""An action plan as a document in OGP's terms: export (JSON or CSV) and import.

The document holds no database ids or timestamps, so exporting, importing into an empty
database and exporting again gives the same document. History is not carried over: the
import itself is what the new database's history records.
"""
import csv
import io

from marshmallow import ValidationError, fields, validate

from services.commitments import schema_fields as f
from services.commitments.history import Log
from services.commitments.plans import add_commitment, add_plan
from services.commitments.schemas import AssessmentSchema, MilestoneSchema
from services.commitments.tracking import add_assessment_row, add_milestone_row
from shared.openapi_rules import Order
from shared.schemas import StrictSchema, WholeNumber

FORMAT = "abierto.ogp-action-plan/1"
_date = lambda **kw: fields.Date(allow_none=True, load_default=None, **kw)  # noqa: E731


class ExportMilestoneSchema(MilestoneSchema):
    """A milestone as exported: what was decided, nothing derived or stamped by the database."""

    class Meta(StrictSchema.Meta):
        exclude = ("id", "commitment_id", "delayed", "created_at", "updated_at")


class ExportAssessmentSchema(AssessmentSchema):
    """An assessment as exported: the rating, not when this database recorded it."""

    class Meta(StrictSchema.Meta):
        exclude = ("id", "commitment_id", "recorded_at")


class ExportCommitmentSchema(StrictSchema):
    """A commitment under OGP's names (`commitment_id` is OGP's id, not ours)."""

    commitment_id = f.ogp_id(attribute="ogp_id")
    number = WholeNumber(required=True, validate=validate.Range(1, 1000))
    title = f.title(required=True)
    problem = f.long_text()
    status_quo = f.long_text()
    action = f.long_text()
    commitment_start = _date(attribute="start_date")
    commitment_end = _date(attribute="end_date")
    ogp_values = f.code_list("ogp_values")
    open_gov_challenge_areas = f.code_list("challenge_areas", attribute="challenge_areas")
    institutions = fields.List(fields.Nested(f.Institution), load_default=list,
                               validate=validate.Length(max=50))
    operational_status = f.code("commitment_status", attribute="status", allow_none=True,
                                load_default=None)
    milestones = fields.List(fields.Nested(ExportMilestoneSchema),
                             load_default=list, validate=validate.Length(max=200))
    assessments = fields.List(fields.Nested(ExportAssessmentSchema),
                              load_default=list, validate=validate.Length(max=200))

    rules = (Order("commitment_start", "commitment_end"),)


class ExportPlanSchema(StrictSchema):
    """The whole document: the plan, its commitments, their milestones and assessments."""

    format = fields.Method("_format", deserialize="_check_format", required=True,
                           metadata={"type": "string", "enum": [FORMAT]})
    member = f.string(200, 1, required=True)
    ordinal = WholeNumber(required=True, validate=validate.Range(1, 1000))
    title = f.title(required=True)
    submitted_on = _date()
    period_start = _date()
    period_end = _date()
    commitments = fields.List(fields.Nested(ExportCommitmentSchema), load_default=list,
                              validate=validate.Length(max=500))

    def _format(self, _plan):
        return FORMAT

    def _check_format(self, value):
        if value != FORMAT:
            raise ValidationError(f"Must be {FORMAT}.")
        return value

    rules = (Order("period_start", "period_end"),)


def import_document(db, document, actor, now):
    """Create the plan a loaded document describes, all or nothing; return the plan."""
    plan_fields = {k: v for k, v in document.items() if k not in ("format", "commitments")}
    with db.transaction() as session:
        log = Log(session, actor, now)
        plan = add_plan(session, log, plan_fields)
        for item in document.get("commitments", []):
            fields_ = {k: v for k, v in item.items() if k not in ("milestones", "assessments")}
            commitment = add_commitment(session, log, {**fields_, "action_plan_id": plan.id})
            for milestone in item.get("milestones", []):
                add_milestone_row(session, log, commitment, milestone)
            for assessment in item.get("assessments", []):
                add_assessment_row(session, log, commitment, assessment)
    return plan


CSV_COLUMNS = (
    "member", "action_plan_ordinal", "commitment_number", "commitment_id", "commitment_title_es",
    "commitment_title_en", "operational_status", "commitment_start", "commitment_end",
    "ogp_values", "open_gov_challenge_areas", "milestone_number", "milestone_title_es",
    "milestone_title_en", "planned_start", "planned_end", "date_met", "milestone_status",
    "progress_pct", "responsible",
)


def csv_text(plan):
    """One row per milestone (a commitment without milestones gets one row); lists joined by `;`."""
    document = ExportPlanSchema().dump(plan)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for commitment in document["commitments"]:
        shared = {
            "member": document["member"], "action_plan_ordinal": document["ordinal"],
            "commitment_number": commitment["number"], "commitment_id": commitment["commitment_id"],
            "commitment_title_es": commitment["title"]["es"],
            "commitment_title_en": commitment["title"]["en"],
            "ogp_values": ";".join(commitment["ogp_values"]),
            "open_gov_challenge_areas": ";".join(commitment["open_gov_challenge_areas"]),
            **{k: commitment[k] for k in ("operational_status", "commitment_start", "commitment_end")},
        }
        for number, milestone in enumerate(commitment["milestones"] or [None], start=1):
            row = dict(shared)
            if milestone:
                row.update({k: milestone[k] for k in (
                    "planned_start", "planned_end", "date_met", "progress_pct", "responsible")})
                row.update(milestone_number=number, milestone_title_es=milestone["title"]["es"],
                           milestone_title_en=milestone["title"]["en"],
                           milestone_status=milestone["status"])
            writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _cell(value):
    text = "" if value is None else str(value)
    # A leading = + - @ makes spreadsheets run the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
