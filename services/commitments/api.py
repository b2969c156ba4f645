"""The HTTP API of plans and commitments: thin views — load a schema, call one use case, dump."""
from flask import Response, g, request

from services.commitments import plans, transfer
from services.commitments.schemas import (ActionPlanChangesSchema, ActionPlanDetailSchema,
                                          ActionPlanSchema, CommitmentChangesSchema,
                                          CommitmentDetailSchema, CommitmentQuery,
                                          CommitmentSchema, changes_of)
from services.commitments.vocabularies import VOCABULARIES
from shared.auth import require
from shared.errors import ProblemSchema
from shared.ratelimit import FEED_TOO_MANY, refusal
from shared.schemas import ChangesQuery, feed_body, page_body, page_schema
from shared.web import ApiBlueprint, ApiView, service

blp = ApiBlueprint("commitments", __name__, url_prefix="/api/v1",
                   description="Action plans and commitments / Planes de acción y compromisos")
BEARER = [{"bearer": []}]
PLAN_ID = "<int(max=2147483647):plan_id>"
CSV_NOTE = "CSV with `Accept: text/csv`: one row per milestone (one per commitment without any)."


def _now():
    return service().clock()


def _base_url():
    return service().settings.public_base_url


@blp.route("/action-plans")
class ActionPlans(ApiView):
    @blp.arguments(ChangesQuery, location="query")
    @blp.response(200, page_schema(ActionPlanSchema))
    @blp.alt_response(429, schema=ProblemSchema, description=FEED_TOO_MANY)
    def get(self, query):
        """List action plans (public), with their rolled-up progress; or what changed since
        a cursor (`changed_since`, for mirrors)."""
        if "changed_since" in query:
            if (refused := refusal()) is not None:
                return refused
            return feed_body(*plans.plans_changed(service().db, query["changed_since"],
                                                  query["per_page"]), query)
        return page_body(*plans.list_plans(service().db, **query), query)

    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(ActionPlanSchema)
    @blp.response(201, ActionPlanDetailSchema)
    def post(self, fields):
        """Create an action plan (token scope `commitments:write`)."""
        return plans.create_plan(service().db, fields, g.actor, _now())


@blp.route(f"/action-plans/{PLAN_ID}")
class ActionPlanById(ApiView):
    @blp.response(200, ActionPlanDetailSchema)
    def get(self, plan_id):
        """One action plan (public), its commitments summarised and its progress."""
        return plans.get_plan(service().db, plan_id)

    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(changes_of(ActionPlanChangesSchema))
    @blp.response(200, ActionPlanDetailSchema)
    def patch(self, changes, plan_id):
        """Change an action plan (token scope `commitments:write`); recorded in the history."""
        return plans.update_plan(service().db, plan_id, changes, g.actor, _now())


@blp.route(f"/action-plans/{PLAN_ID}/export")
class ActionPlanExport(ApiView):
    @blp.response(200, transfer.ExportPlanSchema, description=CSV_NOTE)
    def get(self, plan_id):
        """The plan, its commitments, milestones and assessments in OGP's terms (public)."""
        plan = plans.get_plan(service().db, plan_id)
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
            return Response(transfer.csv_text(plan), mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="action-plan-{plan_id}.csv"'})
        return plan


@blp.route("/action-plans/import")
class ActionPlanImport(ApiView):
    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(transfer.ExportPlanSchema)
    @blp.response(201, ActionPlanDetailSchema)
    def post(self, document):
        """Create a plan from an export document (token scope `commitments:write`); all or nothing."""
        return transfer.import_document(service().db, document, g.actor, _now())


@blp.route("/commitments")
class Commitments(ApiView):
    @blp.arguments(CommitmentQuery, location="query")
    @blp.response(200, page_schema(CommitmentSchema))
    @blp.alt_response(429, schema=ProblemSchema, description=FEED_TOO_MANY)
    def get(self, query):
        """List commitments (public); filters: `action_plan`, `challenge_area`, `ogp_value`, `status`;
        or what changed since a cursor (`changed_since`, for mirrors)."""
        if "changed_since" in query:
            if (refused := refusal()) is not None:
                return refused
            return feed_body(*plans.commitments_changed(service().db, query["changed_since"],
                                                        query["per_page"]), query)
        return page_body(*plans.list_commitments(service().db, **query), query)

    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(CommitmentSchema)
    @blp.response(201, CommitmentDetailSchema)
    def post(self, fields):
        """Add a commitment to an action plan (token scope `commitments:write`)."""
        return plans.create_commitment(service().db, fields, g.actor, _now())


@blp.route("/commitments/<string(maxlength=40):ref>")
class CommitmentByRef(ApiView):
    @blp.response(200, CommitmentDetailSchema)
    def get(self, ref):
        """One commitment by id or OGP id (public), with milestones, assessments and progress."""
        return plans.get_commitment(service().db, ref)

    @require("commitments:write")
    @blp.doc(security=BEARER)
    @blp.arguments(changes_of(CommitmentChangesSchema))
    @blp.response(200, CommitmentDetailSchema)
    def patch(self, changes, ref):
        """Change a commitment (token scope `commitments:write`); emits `commitment.updated`."""
        return plans.update_commitment(service().db, ref, changes, g.actor, _now(), _base_url())


@blp.route("/vocabularies")
class Vocabularies(ApiView):
    @blp.response(200)
    def get(self):
        """Every vocabulary: code -> {"en": OGP's label, "es": its translation} (public)."""
        return VOCABULARIES
