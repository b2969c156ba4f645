"""Notifications' HTTP API: the deliveries, for operators and organisers with a token."""
from flask.views import MethodView
from marshmallow import fields, validate

from services.notifications.pipeline import deliveries
from shared.auth import require
from shared.schemas import PageQuery, StrictSchema, UTCDateTime, page_body, page_schema
from shared.web import ApiBlueprint, service

blp = ApiBlueprint("deliveries", __name__, url_prefix="/api/v1",
                description="Emails sent and to send / Correos enviados y por enviar")


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
    event_id = fields.String(metadata={"description": "id of the CloudEvent it answers"})
    event_type = fields.String()
    subject = fields.String(metadata={"description": "what the event is about, e.g. events/1/registrations/7"})
    created_at = UTCDateTime()
    sent_at = UTCDateTime(allow_none=True)


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(deliveries.PUBLIC_STATUSES))
    recipient = fields.String()
    kind = fields.String()
    event_id = fields.String()


@blp.route("/deliveries")
class Deliveries(MethodView):
    @require("deliveries:read")
    @blp.doc(security=[{"bearer": []}])
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, page_schema(DeliverySchema))
    def get(self, query):
        """Deliveries, newest first (token scope `deliveries:read`)."""
        with service().db.transaction() as session:
            items, total = deliveries.search(session, **query)
        return page_body(items, total, query)
