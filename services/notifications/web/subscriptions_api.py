"""Subscriptions over HTTP: anyone asks to follow a commitment; organisers list them (token)."""
import logging

from marshmallow import ValidationError, fields, pre_load, validate

from services.notifications.pipeline import subscriptions
from shared.auth import require
from shared.commitments_client import CommitmentsUnavailable, UnknownCommitment
from shared.errors import problem
from shared.openapi_rules import Stored
from shared.ratelimit import limited
from shared.schemas import (MAX_INT, ChangesQuery, StrictSchema, UTCDateTime, email_field,
                            feed_body, page_body, page_schema)
from shared.web import ApiBlueprint, ApiView, service
from shared.wording import LANGUAGES

log = logging.getLogger(__name__)
blp = ApiBlueprint("subscriptions", __name__, url_prefix="/api/v1",
                   description="Follow a commitment by email / Seguir un compromiso por correo")
RETRY_AFTER = "30"  # seconds; a commitments service that is away usually is back by then
TOPIC_FORMAT = "Use commitment:<id>, e.g. commitment:1."


class Topic(fields.String):
    """`commitment:<id>` of an existing commitment id range."""

    def __init__(self, **kwargs):
        # The document's pattern is a little narrower than the rule (ids up to 999,999,999
        # of MAX_INT's 2,147,483,647), so whatever it allows is accepted.
        metadata = {"pattern": r"^commitment:[1-9][0-9]{0,8}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        topic = super()._deserialize(value, attr, data, **kwargs)
        commitment_id = subscriptions.topic_commitment(topic)
        if commitment_id is None or commitment_id > MAX_INT:
            raise ValidationError(TOPIC_FORMAT)
        return topic


class SubscriptionRequestSchema(StrictSchema):
    email = email_field(required=True)
    topic = Topic(required=True, metadata={"description": "what to follow: commitment:<id>"})
    language = fields.String(load_default="es", validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "of the emails (both languages are in each)"})
    rules = (Stored("topic", "exists", refers_to="commitments: GET /api/v1/commitments/{ref}",
                    es="`topic` nombra un compromiso que existe (en el servicio de compromisos).",
                    en="`topic` must name a commitment that exists (in the commitments service)."),)

    @pre_load
    def _trim_email(self, data, **_):
        # A pasted address often carries spaces; they are not part of it.
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            data = {**data, "email": data["email"].strip()}
        return data


class SubscriptionReceiptSchema(StrictSchema):
    status = fields.String(metadata={"description": "always `pending`: check your inbox"})


class SubscriptionSchema(StrictSchema):
    id = fields.Integer()
    email = fields.String()
    topic = fields.String()
    language = fields.String()
    status = fields.String(metadata={"description": "pending, confirmed or cancelled"})
    created_at = UTCDateTime()
    confirmed_at = UTCDateTime(allow_none=True)
    cancelled_at = UTCDateTime(allow_none=True)


class SubscriptionQuery(ChangesQuery):
    topic = Topic()
    status = fields.String(validate=validate.OneOf(subscriptions.STATUSES))


@blp.route("/subscriptions")
class Subscriptions(ApiView):
    @limited
    @blp.arguments(SubscriptionRequestSchema)
    @blp.response(202, SubscriptionReceiptSchema)
    @blp.alt_response(422, description="Invalid fields, or no such commitment (`errors.topic`).")
    @blp.alt_response(503, description="The commitments service cannot say; nothing was saved.")
    def post(self, fields):
        """Follow a commitment (public): an email asks to confirm; alerts start only after that.

        The answer is the same whether the address is new, waiting or already following.
        """
        try:
            service().follow(fields["email"], fields["topic"], fields["language"])
        except UnknownCommitment as error:
            return problem(422, "The request has invalid fields; see `errors`.",
                           errors={"topic": [str(error)]})
        except CommitmentsUnavailable as error:
            log.warning("commitments service unavailable (%s); subscription not saved", error)
            return problem(503, "We cannot check that commitment right now; try again later.",
                           headers={"Retry-After": RETRY_AFTER})
        return {"status": subscriptions.PENDING}

    @require("subscriptions:read")
    @blp.doc(security=[{"bearer": []}])
    @blp.arguments(SubscriptionQuery, location="query")
    @blp.response(200, page_schema(SubscriptionSchema))
    def get(self, query):
        """Subscriptions, newest first (token scope `subscriptions:read`); or what changed
        since a cursor (`changed_since`, for mirrors; a cancelled one comes as a tombstone)."""
        with service().db.transaction() as session:
            if "changed_since" in query:
                return feed_body(*subscriptions.search_changed(
                    session, query["changed_since"], query["per_page"]), query)
            items, total = subscriptions.search(session, **query)
        return page_body(items, total, query)

