"""Registration's HTTP API: thin views — load a schema, call one use case, dump one answer."""
import csv
import functools
import io
from datetime import timedelta

from flask import Response, g, jsonify, request

from services.registration import service as use_cases
from services.registration.schemas import (EventChangesSchema, EventQuery, EventRequestSchema,
                                           EventSchema, RegistrationAcceptedSchema,
                                           RegistrationReceiptSchema, RegistrationRequestSchema,
                                           RegistrationSchema)
from shared.auth import optional, require, sends_token
from shared.errors import ProblemSchema
from shared.ratelimit import FEED_TOO_MANY, client_key, limited, refusal
from shared.schemas import ChangesQuery, feed_body, page_body, page_schema
from shared.web import ApiBlueprint, ApiView, ServiceResponse, service

blp = ApiBlueprint("events", __name__, url_prefix="/api/v1",
                description="Public events and registrations / Eventos públicos y registros")
BEARER = [{"bearer": []}]


def _links():
    return service().links


# The one anonymous answer to a registration, whatever happened to the email.
ACCEPTED_DETAIL = ("Te enviamos un correo con tu lugar o tu posición en la lista de espera. / "
                   "We've sent you an email with your seat or your place on the waiting list.")
_RECEIPT = RegistrationReceiptSchema()


def accepted(event_id):
    """The 202 every anonymous registration of `event_id` gets: a new email, a repeat, or
    one whose email is not sent; byte for byte the same, so it tells nobody who registered."""
    return ServiceResponse(_accepted_body(event_id), 202, mimetype="application/json")


@functools.lru_cache(maxsize=1024)
def _accepted_body(event_id):
    # The same bytes for every registration of an event: encoded once, as jsonify does.
    return jsonify(event_id=event_id, detail=ACCEPTED_DETAIL).get_data()


def event_attempt(event_id):
    """(EVENT_CLIENT_LIMIT, this client's key at `event_id`): what an anonymous registration
    attempt counts against besides PUBLIC_RATE_LIMIT, in the same Redis round trip, before
    its body is read; so every attempt counts, an invalid one and one the per-address limit
    refuses too."""
    return service().event_limit, f"{event_id}:{client_key()}"


def _anonymous_attempt(event_id):
    """The API's: a request with an Authorization header counts only per address (a token
    is not held to EVENT_CLIENT_LIMIT, and a bad one gets its 401)."""
    return () if sends_token(request._get_current_object()) else (event_attempt(event_id),)


def register(event_id, fields, anonymous):
    """The registration both the API and the form make, once their limits let the request
    through: (registration, created)."""
    collaborators = service()
    return use_cases.register(collaborators.db, event_id, fields, collaborators.links,
                              collaborators.clock(),
                              pending_hold=timedelta(seconds=collaborators.settings.pending_hold),
                              tell_repeat=anonymous)


@blp.route("/events")
class Events(ApiView):
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, page_schema(EventSchema))
    @blp.alt_response(429, schema=ProblemSchema, description=FEED_TOO_MANY)
    def get(self, query):
        """List events (public): filter by `when` (upcoming/past), `q`, `country`, `city`; or
        what changed since a cursor (`changed_since`, for mirrors)."""
        if "changed_since" in query:
            if (refused := refusal()) is not None:
                return refused
            return feed_body(*use_cases.events_changed(
                service().db, query["changed_since"], query["per_page"]), query)
        items, total = use_cases.list_events(service().db, service().clock(), **query)
        return page_body(items, total, query)

    @require("events:write")
    @blp.doc(security=BEARER)
    @blp.arguments(EventRequestSchema)
    @blp.response(201, EventSchema)
    def post(self, fields):
        """Publish an event (token scope `events:write`); the token becomes its owner."""
        return use_cases.create_event(service().db, fields, service().clock(), g.caller.token_id)


@blp.route("/events/<int(max=2147483647):event_id>")
class EventById(ApiView):
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
    @blp.alt_response(409, schema=ProblemSchema, description=(
        "The event is cancelled: its time and place no longer change."))
    def patch(self, changes, event_id):
        """Change an event: `events:write` for events the same token published, `events:admin`
        for any; more capacity promotes people waiting; a new time or place is emailed to
        attendees (unless `notify` is false)."""
        notify = changes.pop("notify", True)
        return use_cases.update_event(service().db, event_id, changes, _links(), service().clock(),
                                      g.caller.token_id, g.caller.scopes, notify=notify)


@blp.route("/events/<int(max=2147483647):event_id>/registrations")
class Registrations(ApiView):
    @limited(also=_anonymous_attempt)
    @optional("registrations:write")
    @blp.doc(security=[{}, *BEARER])
    @blp.arguments(RegistrationRequestSchema)
    @blp.response(202, RegistrationAcceptedSchema, description=(
        "Without a token, always this answer, byte for byte: for a new email, for an email "
        "already registered (it gets an email saying what it holds), and for a request "
        "whose email is not sent. The email says `confirmed`, `pending`, or `waitlisted`."))
    @blp.alt_response(201, schema=RegistrationReceiptSchema, description=(
        "With a `registrations:write` token: a new registration, with its id and status "
        "(`confirmed`, `pending` or `waitlisted`)."))
    @blp.alt_response(200, schema=RegistrationReceiptSchema, description=(
        "With a `registrations:write` token: this email was already registered; nothing "
        "changes and nothing is sent."))
    @blp.alt_response(409, schema=ProblemSchema, description=(
        "Registration is closed or the event is over: the same for every email."))
    @blp.alt_response(429, schema=ProblemSchema, description=(
        "Too many requests from this address (PUBLIC_RATE_LIMIT), or, without a token, "
        "too many registrations for this event from it (EVENT_CLIENT_LIMIT); see Retry-After."))
    def post(self, fields, event_id):
        """Register for an event (public; a `registrations:write` token gets the detail)."""
        scoped = g._get_current_object().scoped  # see shared.web.service()
        registration, created = register(event_id, fields, anonymous=not scoped)
        if not scoped:
            return accepted(event_id)
        response = jsonify(_RECEIPT.dump(registration))
        response.status_code = 201 if created else 200
        return response

    @require("registrations:read")
    @blp.doc(security=BEARER)
    @blp.arguments(ChangesQuery, location="query")
    @blp.response(200, page_schema(RegistrationSchema))
    def get(self, query, event_id):
        """The attendee list (token scope `registrations:read`); CSV with `Accept: text/csv`."""
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
            items, _ = use_cases.list_registrations(service().db, event_id, 1, None)
            return _csv(items, event_id)
        if "changed_since" in query:
            return feed_body(*use_cases.registrations_changed(
                service().db, event_id, query["changed_since"], query["per_page"]), query)
        items, total = use_cases.list_registrations(service().db, event_id, **query)
        return page_body(items, total, query)


CSV_COLUMNS = ("id", "name", "email", "organization", "sector", "language", "accessibility_needs",
               "status", "created_at", "checked_in_at", "walk_in")


def _csv(registrations, event_id):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for registration in registrations:
        writer.writerow([csv_cell(getattr(registration, c)) for c in CSV_COLUMNS])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="event-{event_id}-registrations.csv"'})


def csv_cell(value):
    """One cell's text, safe to open in a spreadsheet."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else str(value))
    # A leading = + - @ makes spreadsheets run the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
