"""The door's HTTP API: check-ins and walk-ins (door staff), the staff links that let them in
(organisers), and the attendance figures. Thin views over checkin.py and attendance.py."""
import csv
import functools
import io

from flask import Response, g, jsonify, request

from services.registration import attendance, checkin, checkin_access
from services.registration import checkin_rules as rules
from services.registration.api import csv_cell
from services.registration.checkin_schemas import (AttendanceSchema, CheckInAnswerSchema,
                                                   CheckInSchema, StaffLinkSchema)
from shared.auth import require
from shared.errors import ProblemSchema, problem, status_of
from shared.schemas import ChangesQuery, feed_body, page_body, page_schema
from shared.web import ApiBlueprint, ApiView, service

blp = ApiBlueprint("door", __name__, url_prefix="/api/v1", description=(
    "Check-in at the door, staff links and attendance / Registro de asistencia en la puerta, "
    "enlaces para el personal y asistencia"))
EVENT = "/events/<int(max=2147483647):event_id>"
BEARER = [{"bearer": []}]
_ANSWER = CheckInAnswerSchema()


def door_staff(view):
    """Let a request through with a bearer staff-link credential of this event, or a token
    with `checkin:write` (checkin_access); else 401/403 problem+json."""

    @functools.wraps(view)
    def wrapper(*args, event_id, **kwargs):
        kind, _, credential = request.headers.get("Authorization", "").partition(" ")
        try:
            g.actor = checkin_access.door_keeper(
                credential if kind.lower() == "bearer" else "", event_id)
        except checkin_access.Refused as refused:
            challenge = {"WWW-Authenticate": f'Bearer scope="{checkin_access.SCOPE}"'}
            return problem(refused.status, refused.detail,
                           headers=challenge if refused.status == 401 else None)
        return view(*args, event_id=event_id, **kwargs)

    return wrapper


def admit(event_id, body):
    """Check in a `code`, or admit a `walk_in`: the use case both the API and the page call."""
    now = service().clock()
    if "walk_in" in body:
        return checkin.walk_in(service().db, event_id, body["walk_in"], now)
    return checkin.check_in(service().db, service().settings.keys, event_id, body["code"], now)


def answer(admitted):
    """The JSON of a check-in that let the person in."""
    registration = admitted.registration
    return {"result": admitted.result, "checked_in_at": admitted.checked_in_at,
            "registration": {"id": registration.id, "name": registration.name,
                             "status": registration.status}}


def refusal(refused):
    """The problem+json of a refused check-in, with its `result` (and whom a seatless code names)."""
    extra = {} if refused.registration is None else {"registration": refused.registration}
    return problem(status_of(refused), refused.detail, result=refused.result, **extra)


@blp.route(EVENT + "/check-ins")
class CheckIns(ApiView):
    @door_staff
    @blp.doc(security=BEARER)
    @blp.arguments(CheckInSchema)
    @blp.response(201, CheckInAnswerSchema, description="`checked_in`: let them in.")
    @blp.alt_response(200, schema=CheckInAnswerSchema, description=(
        "`already_checked_in`: the code was used before; `checked_in_at` says when."))
    @blp.alt_response(409, schema=ProblemSchema, description=(
        "A genuine code without a seat: `result` is `cancelled`, `waitlisted`, `pending` or "
        "`expired`, and `registration` says whose; or the event is called off: `result` "
        "`event_cancelled` or `event_postponed`, for any code or walk-in."))
    @blp.alt_response(422, schema=ProblemSchema, description=(
        "`result` `invalid_code` (not a code we made) or `not_for_this_event`; or invalid fields."))
    @blp.alt_response(401, schema=ProblemSchema, description="No usable credential.")
    @blp.alt_response(403, schema=ProblemSchema, description=(
        "A token without `checkin:write`, or a staff link revoked, expired or of another event."))
    def post(self, body, event_id):
        """Check someone in (door staff: a staff link's credential as the bearer token, or a
        token with `checkin:write`): the code of their QR code or its short code, or a walk-in."""
        try:
            admitted = admit(event_id, body)
        except rules.CheckInRefused as refused:
            return refusal(refused)
        response = jsonify(_ANSWER.dump(answer(admitted)))
        response.status_code = 201 if admitted.result == rules.CHECKED_IN else 200
        return response


@blp.route(EVENT + "/staff-links")
class StaffLinks(ApiView):
    @require("events:write", "events:admin")
    @blp.doc(security=BEARER)
    @blp.arguments(StaffLinkSchema)
    @blp.response(201, StaffLinkSchema)
    def post(self, fields, event_id):
        """A link that opens the event's check-in page for door staff, until revoked (the
        event's publisher, or `events:admin`). Its `url` is shown only here."""
        settings = service().settings
        link = checkin.create_staff_link(service().db, event_id, fields["label"],
                                         service().clock(), g.caller.token_id, g.caller.scopes)
        return {"id": link.id, "label": link.label, "created_at": link.created_at,
                "revoked_at": None,
                "url": checkin.staff_link_url(settings.public_base_url, settings.keys, link)}

    @require("events:write", "events:admin")
    @blp.doc(security=BEARER)
    @blp.arguments(ChangesQuery, location="query")
    @blp.response(200, page_schema(StaffLinkSchema))
    def get(self, query, event_id):
        """The event's staff links, revoked ones too (without their URL)."""
        if "changed_since" in query:
            return feed_body(*checkin.staff_links_changed(
                service().db, event_id, g.caller.token_id, g.caller.scopes,
                query["changed_since"], query["per_page"]), query)
        links = checkin.staff_links(service().db, event_id, g.caller.token_id, g.caller.scopes)
        first = (query["page"] - 1) * query["per_page"]
        return page_body(links[first:first + query["per_page"]], len(links), query)


@blp.route(EVENT + "/staff-links/<int(max=2147483647):link_id>")
class StaffLinkById(ApiView):
    @require("events:write", "events:admin")
    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, event_id, link_id):
        """Revoke a staff link: the next check-in through it is refused."""
        checkin.revoke_staff_link(service().db, event_id, link_id, service().clock(),
                                  g.caller.token_id, g.caller.scopes)


@blp.route(EVENT + "/attendance")
class Attendance(ApiView):
    @require("registrations:read")
    @blp.doc(security=BEARER)
    @blp.response(200, AttendanceSchema)
    def get(self, event_id):
        """Attendance for the transparency report, in total and by sector (`registrations:read`);
        `Accept: text/csv` gives one row per sector and a total row."""
        figures = attendance.figures(service().db, event_id, service().clock())
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
            return _csv(figures)
        return figures


def _csv(figures):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("sector", *attendance.FIGURES))
    rows = [*figures["by_sector"].items(), ("total", figures)]
    for sector, counts in rows:
        writer.writerow([csv_cell(sector), *(csv_cell(counts[name]) for name in attendance.FIGURES)])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="event-{figures["event_id"]}-attendance.csv"'})
