"""The HTTP API of milestones, assessments and the public history (which has no write method;
its log's heads, proofs and checks are in api_log.py)."""
from flask import g

from services.commitments import tracking
from services.commitments.schemas import (AssessmentSchema, HistoryEntrySchema,
                                          MilestoneChangesSchema, MilestoneSchema)
from shared.auth import require
from shared.schemas import PageQuery, page_body, page_schema
from shared.web import ApiBlueprint, ApiView, service

blp = ApiBlueprint("tracking", __name__, url_prefix="/api/v1",
                   description="Milestones, assessments and the public history / "
                               "Hitos, evaluaciones e historial público")
BEARER = [{"bearer": []}]
REF = "<string(maxlength=40):ref>"
HistoryPage = page_schema(HistoryEntrySchema)


def _now():
    return service().clock()


def _base_url():
    return service().settings.public_base_url


@blp.route(f"/commitments/{REF}/milestones")
class Milestones(ApiView):
    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(MilestoneSchema)
    @blp.response(201, MilestoneSchema)
    def post(self, fields, ref):
        """Add a milestone to a commitment (token scope `commitments:write`)."""
        return tracking.add_milestone(service().db, ref, fields, g.actor, _now())


@blp.route("/milestones/<int(max=2147483647):milestone_id>")
class MilestoneById(ApiView):
    @blp.response(200, MilestoneSchema)
    def get(self, milestone_id):
        """One milestone (public), with `delayed`."""
        return tracking.get_milestone(service().db, milestone_id)

    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(MilestoneChangesSchema)
    @blp.response(200, MilestoneSchema)
    def patch(self, changes, milestone_id):
        """Move a milestone (token scope `commitments:write`); emits `milestone.changed`.

        A new status or date needs a `justification`; `minor: true` tells followers nothing.
        """
        return tracking.update_milestone(service().db, milestone_id, changes, g.actor, _now(),
                                         _base_url())


@blp.route(f"/commitments/{REF}/assessments")
class Assessments(ApiView):
    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(AssessmentSchema)
    @blp.response(201, AssessmentSchema)
    def post(self, fields, ref):
        """Record an assessment (scope `commitments:write`); append-only; emits `assessment.recorded`."""
        return tracking.record_assessment(service().db, ref, fields, g.actor, _now(), _base_url())


@blp.route(f"/commitments/{REF}/history")
class CommitmentHistory(ApiView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, HistoryPage)
    def get(self, query, ref):
        """Every change of a commitment, its milestones and assessments, oldest first (public)."""
        return page_body(*tracking.commitment_history(service().db, ref, **query), query)


@blp.route("/action-plans/<int(max=2147483647):plan_id>/history")
class PlanHistory(ApiView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, HistoryPage)
    def get(self, query, plan_id):
        """Every change of an action plan's own fields, oldest first (public)."""
        return page_body(*tracking.plan_history(service().db, plan_id, **query), query)
