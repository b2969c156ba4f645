"""Calling an event off: POST /api/v1/events/{id}/cancel and .../postpone (thin views)."""
from flask import g

from services.registration import announcements, lifecycle
from services.registration.schemas import CallOffSchema, EventSchema
from shared.auth import require
from shared.errors import ProblemSchema
from shared.web import ApiBlueprint, ApiView, service

blp = ApiBlueprint("event-lifecycle", __name__, url_prefix="/api/v1",
                   description="Cancelling and postponing events / Cancelar y posponer eventos")
BEARER = [{"bearer": []}]
_CHANGER = ("The token did not publish this event and lacks `events:admin`, or lacks both scopes.")


def _call_off(event_id, status, reason):
    return announcements.call_off(service().db, event_id, status, reason, service().links,
                                  service().clock(), g.caller.token_id, g.caller.scopes)


@blp.route("/events/<int(max=2147483647):event_id>/cancel")
class CancelEvent(ApiView):
    @require("events:write", "events:admin")
    @blp.doc(security=BEARER)
    @blp.arguments(CallOffSchema)
    @blp.response(200, EventSchema)
    @blp.alt_response(403, schema=ProblemSchema, description=_CHANGER)
    @blp.alt_response(409, schema=ProblemSchema, description="Cancelled already, or over.")
    def post(self, body, event_id):
        """Cancel the event (final): registration closes and every attendee (confirmed,
        pending, waiting) is emailed at once, with a calendar CANCEL."""
        return _call_off(event_id, lifecycle.CANCELLED, body["reason"])


@blp.route("/events/<int(max=2147483647):event_id>/postpone")
class PostponeEvent(ApiView):
    @require("events:write", "events:admin")
    @blp.doc(security=BEARER)
    @blp.arguments(CallOffSchema)
    @blp.response(200, EventSchema)
    @blp.alt_response(403, schema=ProblemSchema, description=_CHANGER)
    @blp.alt_response(409, schema=ProblemSchema, description="Postponed or cancelled already, "
                                                             "or over.")
    def post(self, body, event_id):
        """Postpone the event until a new date: registration closes and every attendee is
        emailed at once; a PATCH with a new `starts_at` reschedules it and opens it again."""
        return _call_off(event_id, lifecycle.POSTPONED, body["reason"])
