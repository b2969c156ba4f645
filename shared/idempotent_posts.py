"""Every POST of a service's API honours `Idempotency-Key` (the rules: shared.idempotency):
the hooks shared.web's app factory installs, and the header and answers in the OpenAPI
document of every POST."""
import base64
import logging

from apispec import BasePlugin
from flask import Response, g, request
from redis.exceptions import RedisError

from shared import idempotency
from shared.errors import PROBLEM_JSON, problem
from shared.ratelimit import client_key

log = logging.getLogger(__name__)
API_PREFIX = "/api/"
_ENVIRON_KEY = "HTTP_" + idempotency.HEADER.upper().replace("-", "_")  # as WSGI names it


def install(app, store):
    """Run each keyed API POST once per caller and key; replay its answer to repeats."""

    @app.before_request
    def _once():
        asked = request._get_current_object()  # see shared.web.service()
        # The header's WSGI name first: getlist reads every header of the request to say
        # "none", and nearly every POST sends none.
        if (_ENVIRON_KEY not in asked.environ or asked.method != "POST"
                or asked.url_rule is None or not asked.path.startswith(API_PREFIX)):
            return None
        values = asked.headers.getlist(idempotency.HEADER)
        try:
            key = idempotency.parse_key(values)
        except ValueError as error:
            return problem(400, str(error))
        slot = store.slot(_caller(), key)
        fingerprint = idempotency.fingerprint("POST", asked.full_path, asked.get_data())
        try:
            lease, record = _claim(store, slot, fingerprint)
            if lease:
                g.abierto_idempotency = (slot, lease)
                return None
        except idempotency.Unavailable as error:
            log.warning("idempotency keys unavailable (%s): a keyed POST refused", error)
            return _unavailable()
        if record["fingerprint"] != fingerprint:
            return problem(422, f"This {idempotency.HEADER} was used for a different request "
                                "(another address or body); use a new key for a new request.")
        if record["state"] == "running":
            return problem(409, f"The first request with this {idempotency.HEADER} is still "
                                "running; send it again in a moment for its answer.",
                           headers={"Retry-After": "1"})
        return _replay(record)

    @app.after_request
    def _keep(response):
        held = g._get_current_object().pop("abierto_idempotency", None)  # see shared.web.service()
        if held:
            try:
                store.finish(*held, response)
            except RedisError as error:
                log.warning("an idempotent POST's answer could not be kept (%s); a retry "
                            "after %s s would run it again", type(error).__name__, idempotency.LEASE)
        return response

    @app.teardown_request
    def _let_go(_error):
        held = g._get_current_object().pop("abierto_idempotency", None)  # still held: no answer
        if held:
            try:
                store.release(*held)
            except RedisError:
                pass  # the lease lapses by itself


def _claim(store, slot, fingerprint):
    """(lease, None) when this request is to run; else (None, the first's record): done, or
    still running after the wait, or another request's."""
    lease, record = store.begin(slot, fingerprint)
    if record and record["fingerprint"] == fingerprint and record["state"] == "running":
        record = store.wait(slot)
        if record is None:  # the first let go, with no answer worth keeping: this one runs
            lease, record = store.begin(slot, fingerprint)
    return lease, record


def _caller():
    """Whose key it is: the bearer token sent (whichever it is, valid or not), else the client."""
    authorization = request.headers.get("Authorization", "")
    return f"auth:{authorization}" if authorization else f"client:{client_key()}"


def _replay(record):
    response = Response(base64.b64decode(record["body"]), status=record["status"])
    for name, value in record["headers"]:
        response.headers[name] = value
    response.headers[idempotency.REPLAYED] = "true"
    return response


def _unavailable():
    return problem(503, f"{idempotency.HEADER} cannot be checked right now, so nothing was "
                        "done; send the same request again in a few seconds.",
                   headers={"Retry-After": "5"})


_PROBLEM = {PROBLEM_JSON: {"schema": "Problem"}}  # shared.errors.ProblemSchema's component
ANSWERS = {
    "400": f"{idempotency.HEADER} is empty, longer than {idempotency.MAX_KEY} characters, "
           "not printable ASCII, or sent twice.",
    "409": "The first request with this key is still running (after a short wait); see Retry-After.",
    "422": "The body has invalid fields (see `errors`), or this caller used the "
           f"{idempotency.HEADER} for a different request (address or body).",
    "503": "A key was sent but cannot be checked (Redis away): nothing was done; see Retry-After.",
}


class OpenApiPlugin(BasePlugin):
    """Declares the header, and the answers it adds, on every POST of the document."""

    def init_spec(self, spec):
        self.spec = spec
        spec.components.parameter(idempotency.HEADER, "header", {
            "required": False, "schema": {"type": "string", "minLength": 1,
                                          "maxLength": idempotency.MAX_KEY},
            "description": (
                "Makes the POST safe to retry (draft-ietf-httpapi-idempotency-key-header): "
                "a unique value per request, e.g. a UUID. The same key with the same request "
                "replays the first answer for 24 h, with `Idempotent-Replayed: true`.")})

    def operation_helper(self, path=None, operations=None, **kwargs):
        post = (operations or {}).get("post")
        if post is None or not (path or "").startswith(API_PREFIX):
            return
        post.setdefault("parameters", []).append(idempotency.HEADER)  # the component's name
        responses = post.setdefault("responses", {})
        for status, description in ANSWERS.items():
            responses.setdefault(status, {"description": description, "content": _PROBLEM})
