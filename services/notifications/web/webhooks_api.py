"""Webhooks over HTTP: an integrator's endpoints (token scope `webhooks:write`), their delivery
log and replays. The secret is shown twice in its life: when made, and when rotated."""
from flask import g
from marshmallow import fields, validate

from services.notifications.webhooks import endpoints
from shared.auth import require
from shared.errors import ProblemSchema
from shared.openapi_rules import Stored
from shared.schemas import (MAX_INT, ChangesQuery, StrictSchema, UTCDateTime, email_field, feed_body,
                            page_body, page_schema)
from shared.web import ApiBlueprint, ApiView, personal_answer, service

blp = ApiBlueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                   description="Signed webhooks (Standard Webhooks) / Webhooks firmados")
BEARER = [{"bearer": []}]
SCOPE = "webhooks:write"
ONE = "/endpoints/<int(max=2147483647):endpoint_id>"


def event_types_field(**kwargs):
    """A field of its own for each schema: a shared one made `required` would be required in
    every schema using it (a PATCH of only the description was refused)."""
    # The document lists the catalogue; endpoints.check_types refuses anything else, saying so.
    return fields.List(fields.String(validate=validate.Length(max=100),
                                     metadata={"enum": sorted(endpoints.subscribable())}),
                       validate=validate.Length(min=1, max=50), metadata={"description": (
                           "CloudEvent types from GET /api/v1/webhooks/event-types; "
                           "registration.* and arco.* need `registrations:read` too")}, **kwargs)


# Checked by webhooks.addresses when the endpoint is saved (and again at each send).
PUBLIC_URL = Stored("url", "public-url",
                    es="`url` es https (http solo con WEBHOOK_ALLOW_PRIVATE o en desarrollo), con "
                       "host y sin usuario ni contraseña, y su host resuelve solo a direcciones "
                       "públicas (no privadas, de loopback ni link-local).",
                    en="`url` must be https (http only with WEBHOOK_ALLOW_PRIVATE or in "
                       "development), with a host and no user or password, and its host must "
                       "resolve to public addresses only (not private, loopback or link-local).")


class EndpointRequestSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(max=2000),
                        metadata={"description": "https, on a public address"})
    rules = (PUBLIC_URL,)
    event_types = event_types_field(required=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    contact_email = email_field(required=True, metadata={
        "description": "told if the endpoint is disabled"})


class EndpointChangeSchema(StrictSchema):
    url = fields.String(validate=validate.Length(max=2000))
    rules = (PUBLIC_URL,)
    event_types = event_types_field()
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    contact_email = email_field()
    enabled = fields.Boolean(metadata={"description": "true turns a disabled endpoint back on"})


class EndpointSchema(StrictSchema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String(allow_none=True)
    event_types = fields.List(fields.String())
    contact_email = fields.String()
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    disabled_at = UTCDateTime(allow_none=True)
    failing_since = UTCDateTime(allow_none=True, metadata={
        "description": "first failure since the last success; disabled after WEBHOOK_DISABLE_AFTER"})
    previous_secret_until = UTCDateTime(allow_none=True, metadata={
        "description": "until then calls carry a second signature, made with the previous secret"})
    created_at = UTCDateTime()


class EndpointWithSecretSchema(EndpointSchema):
    secret = fields.String(metadata={"description": "whsec_...; shown only in this answer"})


class WebhookDeliverySchema(StrictSchema):
    id = fields.Integer()
    webhook_id = fields.String(attribute="message_id", metadata={
        "description": "the webhook-id header: the CloudEvent id, the same on every attempt"})
    event_type = fields.String(attribute="cloudevent_type")
    subject = fields.String()
    state = fields.String(metadata={"description": "queued, inflight, awaiting_retry, sent, "
                                                   "failed, withdrawn"})
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True, metadata={
        "description": "HTTP status of the last try; null: no answer"})
    last_error = fields.String(allow_none=True, metadata={
        "description": "the start (1 KB) of the last failed answer"})
    created_at = UTCDateTime()
    next_attempt_at = UTCDateTime(attribute="due_at", metadata={
        "description": "when it is tried again, while queued or awaiting_retry"})
    sent_at = UTCDateTime(allow_none=True)
    updated_at = UTCDateTime(attribute="state_changed_at")


class EventTypeSchema(StrictSchema):
    type = fields.String()
    when = fields.String()
    personal = fields.Boolean(metadata={"description": "needs `registrations:read` as well"})


class _WithSecret:
    """An endpoint shown with its new secret in clear (the row holds it only sealed)."""

    def __init__(self, endpoint, secret):
        self.endpoint, self.secret = endpoint, secret

    def __getattr__(self, name):
        return getattr(self.endpoint, name)


def _secret(endpoint, secret):
    """The endpoint as EndpointWithSecretSchema shows it: its `secret` is the new one."""
    personal_answer()  # the secret is in it: no cache keeps it
    return _WithSecret(endpoint, secret)


@blp.route("/event-types")
class EventTypes(ApiView):
    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.response(200, EventTypeSchema(many=True))
    def get(self):
        """The event types an endpoint may subscribe to."""
        return [{"type": name, "when": kind.when, "personal": name.startswith(endpoints.PERSONAL)}
                for name, kind in endpoints.subscribable().items()]


@blp.route("/endpoints")
class Endpoints(ApiView):
    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.arguments(EndpointRequestSchema)
    @blp.response(201, EndpointWithSecretSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Personal event types without "
                                                             "`registrations:read`.")
    @blp.alt_response(422, schema=ProblemSchema, description="Unknown types, or a URL refused.")
    def post(self, body):
        """Register an endpoint; the answer holds its secret, shown only this once."""
        made = endpoints.create(service().db, g.caller, body, service().settings, service().clock())
        return _secret(*made)

    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.arguments(ChangesQuery, location="query")
    @blp.response(200, page_schema(EndpointSchema))
    def get(self, query):
        """This token's endpoints (no secrets); or what changed since a cursor
        (`changed_since`; a deleted endpoint comes as a tombstone)."""
        if "changed_since" in query:
            return feed_body(*endpoints.listing_changed(
                service().db, g.caller, query["changed_since"], query["per_page"]), query)
        items, total = endpoints.listing(service().db, g.caller, query["page"], query["per_page"])
        return page_body(items, total, query)


@blp.route(ONE)
class Endpoint(ApiView):
    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.response(200, EndpointSchema)
    def get(self, endpoint_id):
        """One endpoint (no secret)."""
        return endpoints.get(service().db, g.caller, endpoint_id)

    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.arguments(EndpointChangeSchema)
    @blp.response(200, EndpointSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Personal event types without "
                                                             "`registrations:read`.")
    def patch(self, changes, endpoint_id):
        """Change the URL, types, description or contact; `enabled` turns it off or back on."""
        return endpoints.change(service().db, g.caller, endpoint_id, changes, service().settings,
                                service().clock())

    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, endpoint_id):
        """Delete the endpoint; calls still to make to it are withdrawn."""
        endpoints.delete(service().db, g.caller, endpoint_id, service().clock())


@blp.route(ONE + "/rotate-secret")
class RotateSecret(ApiView):
    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.response(200, EndpointWithSecretSchema)
    def post(self, endpoint_id):
        """A new secret, shown this once; for WEBHOOK_SECRET_OVERLAP every call carries two
        signatures (new, then old), so a receiver can switch without losing a call."""
        settings = service().settings
        return _secret(*endpoints.rotate(service().db, g.caller, endpoint_id, service().clock(),
                                         settings.webhook_secret_overlap, settings.keys))


@blp.route(ONE + "/deliveries")
class EndpointDeliveries(ApiView):
    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.arguments(ChangesQuery, location="query")
    @blp.response(200, page_schema(WebhookDeliverySchema))
    def get(self, query, endpoint_id):
        """The endpoint's delivery log, newest first; or what changed since a cursor
        (`changed_since`: each new try moves a delivery)."""
        if "changed_since" in query:
            return feed_body(*endpoints.log_changed(
                service().db, g.caller, endpoint_id, query["changed_since"], query["per_page"]),
                query)
        items, total = endpoints.log(service().db, g.caller, endpoint_id, query["page"],
                                     query["per_page"])
        return page_body(items, total, query)


@blp.route(ONE + "/deliveries/<int(max=2147483647):delivery_id>/replay")
class Replay(ApiView):
    @require(SCOPE)
    @blp.doc(security=BEARER)
    @blp.response(202, WebhookDeliverySchema, description="Queued; sent at once.")
    @blp.alt_response(409, schema=ProblemSchema, description="Being sent now, the endpoint is "
                                                             "disabled, or the payload is gone.")
    def post(self, endpoint_id, delivery_id):
        """Send a delivery again, with the same webhook-id (receivers deduplicate on it)."""
        app = service()
        delivery = endpoints.replay(app.db, g.caller, endpoint_id, delivery_id, g.actor,
                                    app.clock(), app.lease)
        try:
            app.enqueue([delivery.id])
        except Exception:  # noqa: BLE001 - the broker is away: the sweeper sends it when due
            pass
        return delivery
