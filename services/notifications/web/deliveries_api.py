"""Notifications' HTTP API: the deliveries, for operators and organisers with a token."""
from flask import g
from marshmallow import ValidationError, fields, post_load, validate

from services.notifications.pipeline import deliveries
from shared.auth import require
from shared.errors import ProblemSchema
from shared.openapi_rules import Alias
from shared.schemas import ChangesQuery, StrictSchema, UTCDateTime, feed_body, page_body, page_schema
from shared.web import ApiBlueprint, ApiView, service

blp = ApiBlueprint("deliveries", __name__, url_prefix="/api/v1",
                description="Emails sent and to send / Correos enviados y por enviar")


class HistoryEntrySchema(StrictSchema):
    at = fields.String(metadata={"description": "when, ISO 8601 UTC"})
    action = fields.String(metadata={"description": "retried"})
    by = fields.String(metadata={"description": "the token's name, or cli:<operator>"})
    from_state = fields.String()
    attempts = fields.Integer(metadata={"description": "tries made before this action"})
    last_error = fields.String(allow_none=True)


class DeliverySchema(StrictSchema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "the email template"})
    recipient = fields.String()
    status = fields.Function(lambda d: deliveries.PUBLIC_STATUS[d.state],
                             metadata={"description": ", ".join(deliveries.PUBLIC_STATUSES)})
    state = fields.String(metadata={"description": "queued, inflight, awaiting_retry, sent, "
                                                   "failed, withdrawn, suppressed"})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    cloudevent_id = fields.String(metadata={"description": "id of the CloudEvent it answers"})
    cloudevent_type = fields.String(metadata={"description": "type of that CloudEvent, e.g. "
                                                             "registration.confirmed"})
    subject = fields.String(metadata={"description": "what the CloudEvent is about, e.g. events/1/registrations/7"})
    created_at = UTCDateTime()
    sent_at = UTCDateTime(allow_none=True)
    history = fields.Function(lambda d: HistoryEntrySchema(many=True).dump(d.history or []),
                              metadata={"description": "what people did to it, oldest first"})


class DeliveryQuery(ChangesQuery):
    status = fields.String(validate=validate.OneOf(deliveries.PUBLIC_STATUSES))
    recipient = fields.String()
    kind = fields.String()
    cloudevent_id = fields.String(metadata={"description": "the emails answering this CloudEvent"})
    event_id = fields.String(metadata={"deprecated": True,
                                       "description": "deprecated: the old name of cloudevent_id"})
    rules = (*ChangesQuery.rules, Alias("event_id", "cloudevent_id"))

    @post_load
    def _old_name(self, query, **_):
        # `event_id` was this filter's first name, and integrators may still send it; but
        # "event" means a meeting elsewhere in the API, hence the new name.
        old = query.pop("event_id", None)
        if old is not None:
            query.setdefault("cloudevent_id", old)
        return query


@blp.route("/deliveries")
class Deliveries(ApiView):
    @require("deliveries:read")
    @blp.doc(security=[{"bearer": []}])
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, page_schema(DeliverySchema))
    def get(self, query):
        """Deliveries, newest first (token scope `deliveries:read`); or what changed since a
        cursor (`changed_since`, for mirrors)."""
        with service().db.transaction() as session:
            if "changed_since" in query:
                return feed_body(*deliveries.search_changed(
                    session, query["changed_since"], query["per_page"]), query)
            items, total = deliveries.search(session, **query)
        return page_body(items, total, query)


BEARER = [{"bearer": []}]
ONE_DELIVERY = "/deliveries/<int(max=2147483647):delivery_id>"


@blp.route(ONE_DELIVERY)
class DeliveryById(ApiView):
    @require("deliveries:read")
    @blp.doc(security=BEARER)
    @blp.response(200, DeliverySchema)
    def get(self, delivery_id):
        """One delivery with its history (token scope `deliveries:read`)."""
        with service().db.transaction() as session:
            return deliveries.one(session, delivery_id)


@blp.route(ONE_DELIVERY + "/retry")
class RetryDelivery(ApiView):
    @require("deliveries:write")
    @blp.doc(security=BEARER)
    @blp.response(200, DeliverySchema, description="Queued again; sent within SWEEP_EVERY.")
    @blp.alt_response(409, schema=ProblemSchema,
                      description="The delivery is not failed (only failed ones are retried).")
    def post(self, delivery_id):
        """Send a failed email again, with a fresh round of tries; its history records the
        token's name and the time (token scope `deliveries:write`)."""
        with service().db.transaction() as session:
            return deliveries.retry(session, delivery_id, g.actor, service().clock())
