"""Registration's HTTP API: thin views — load a schema, call one use case, dump one answer."""
import csv
import io

from flask import Response, g, request
from flask.views import MethodView

from services.registration import service as use_cases
from services.registration.schemas import (EventChangesSchema, EventQuery, EventSchema,
                                           RegistrationReceiptSchema, RegistrationSchema)
from shared.auth import require
from shared.ratelimit import limited
from shared.schemas import PageQuery, page_body, page_schema
from shared.web import ApiBlueprint, service

blp = ApiBlueprint("events", __name__, url_prefix="/api/v1",
                description="Public events and registrations / Eventos públicos y registros")
BEARER = [{"bearer": []}]


def _links():
    return service().extra["links"]


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, page_schema(EventSchema))
    def get(self, query):
        """List events (public): filter by `when` (upcoming/past), `q`, `country`, `city`."""
        items, total = use_cases.list_events(service().db, service().clock(), **query)
        return page_body(items, total, query)

    @require("events:write")
    @blp.doc(security=BEARER)
    @blp.arguments(EventSchema)
    @blp.response(201, EventSchema)
    def post(self, fields):
        """Publish an event (token scope `events:write`); the token becomes its owner."""
        return use_cases.create_event(service().db, fields, service().clock(), g.caller.token_id)


@blp.route("/events/<int(max=2147483647):event_id>")
class EventById(MethodView):
    @blp.response(200, EventSchema)
    def get(self, event_id):
        """One event (public)."""
        return use_cases.get_event(service().db, event_id)

    @require("events:write", "events:admin")
    @blp.doc(security=BEARER)
    @blp.arguments(EventChangesSchema(partial=True))
    @blp.response(200, EventSchema)
    @blp.alt_response(403, description="The token did not publish this event and lacks "
                                       "`events:admin`, or lacks both scopes.")
    def patch(self, changes, event_id):
        """Change an event: `events:write` for events the same token published, `events:admin`
        for any; more capacity promotes people waiting."""
        return use_cases.update_event(service().db, event_id, changes, _links(), service().clock(),
                                      g.caller.token_id, g.caller.scopes)


@blp.route("/events/<int(max=2147483647):event_id>/registrations")
class Registrations(MethodView):
    @limited
    @blp.arguments(RegistrationSchema)
    @blp.response(201, RegistrationReceiptSchema)
    @blp.alt_response(200, schema=RegistrationReceiptSchema,
                      description="This email was already registered; nothing new is sent.")
    def post(self, fields, event_id):
        """Register for an event (public): `confirmed`, or `waitlisted` when it is full."""
        registration, created = use_cases.register(
            service().db, event_id, fields, _links(), service().clock())
        return registration, 201 if created else 200

    @require("registrations:read")
    @blp.doc(security=BEARER)
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_schema(RegistrationSchema))
    def get(self, query, event_id):
        """The attendee list (token scope `registrations:read`); CSV with `Accept: text/csv`."""
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
            items, _ = use_cases.list_registrations(service().db, event_id, 1, None)
            return _csv(items, event_id)
        items, total = use_cases.list_registrations(service().db, event_id, **query)
        return page_body(items, total, query)


CSV_COLUMNS = ("id", "name", "email", "organization", "sector", "language", "accessibility_needs",
               "status", "created_at")


def _csv(registrations, event_id):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for registration in registrations:
        writer.writerow([_csv_cell(getattr(registration, c)) for c in CSV_COLUMNS])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="event-{event_id}-registrations.csv"'})


def _csv_cell(value):
    text = value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else str(value))
    # A leading = + - @ makes spreadsheets run the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
