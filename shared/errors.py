"""The one error format: RFC 9457 problem+json, for every 4xx and 5xx a service answers."""
import logging

import marshmallow as ma
from flask import jsonify
from sqlalchemy import exc
from werkzeug.exceptions import HTTPException

from shared import domain_errors, outages

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class ProblemSchema(ma.Schema):
    """Documents the error body in the OpenAPI document. RFC 9457 lets a problem carry
    extension members (a check-in's `result`), so other properties are allowed."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "field -> messages, for validation"})


def problem(status, detail, title=None, errors=None, headers=None, **members):
    """A problem+json response; `members` are RFC 9457 extension members (e.g. `result`)."""
    body = {"type": "about:blank", "title": title or _title(status), "status": status,
            "detail": detail, **members}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _title(status):
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(status, "Error")


def from_http_exception(error):
    """Turn werkzeug/webargs aborts into problems, keeping validation messages."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "headers", "form", "files"}:
        # webargs nests field errors under their location; integrators want the fields.
        errors = {k: v for where in errors.values() if isinstance(where, dict)
                  for k, v in where.items()}
    detail = data.get("message") or _DETAILS.get(error.code) or error.description
    if errors and error.code == 422:
        detail = "The request has invalid fields; see `errors`."
    headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
    return problem(error.code, detail, errors=errors, headers={**headers, **(data.get("headers") or {})})


# How HTTP says each kind of domain error: the one place a domain error meets a status.
# Most specific first; a kind not listed (a bare DomainError) is a conflict.
STATUS_OF = (
    (domain_errors.NotFound, 404),
    (domain_errors.Forbidden, 403),
    (domain_errors.Gone, 410),
    (domain_errors.Invalid, 422),
    (domain_errors.Conflict, 409),
)


def status_of(error):
    """The HTTP status that says this domain error."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 409)


def from_domain_error(error):
    """A domain error as a problem; a field's error is named in `errors`."""
    errors = ({error.field: [error.message]}
              if isinstance(error, domain_errors.InvalidField) else None)
    return problem(status_of(error), error.detail, errors=errors)


def database_away():
    """The answer while the database is away: try again shortly; nothing was saved."""
    return problem(503, "The database is not answering right now; nothing was saved. "
                        "Try again in a few seconds.", headers={"Retry-After": outages.RETRY_AFTER})


def install(app):
    """Answer every error of this app with problem+json."""
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(domain_errors.DomainError, from_domain_error)

    def database_error(error):
        # A restart or failover is an outage, not a bug: one line, no traceback. Its
        # transaction was rolled back on the way out, so nothing was half written.
        if not outages.database_away(error):
            return unexpected(error)
        outage.failed(error)
        return database_away()

    outage = outages.Outage("the database", log)  # said once when it begins, once when it ends
    app.register_error_handler(exc.DBAPIError, database_error)
    app.register_error_handler(exc.TimeoutError, database_error)  # no pooled connection in time

    @app.after_request
    def _outage_over(response):
        if outage.ongoing and response.status_code < 500:
            outage.recovered()
        return response

    @app.errorhandler(Exception)
    def unexpected(error):  # a bug: log it (no request data, it may hold personal data)
        log.exception("unhandled error: %s", type(error).__name__)
        return problem(500, "Something went wrong on our side; it has been logged.")


_DETAILS = {
    400: "The request body is not valid JSON.",
    401: "A valid bearer token is required.",
    404: "There is nothing at this address.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    415: "Send the body as application/json.",
}
