"""`ETag` / `If-None-Match` on every GET of a service's API: a strong ETag of the answer's
bytes (a list's or a resource's), and 304 with no body when the client holds them already;
declared on every GET of the OpenAPI document."""
from apispec import BasePlugin
from flask import request

API_PREFIX = "/api/"


def install(app):
    @app.after_request
    def _conditional(response):
        asked = request._get_current_object()  # see shared.web.service()
        if (asked.method in ("GET", "HEAD") and response.status_code == 200
                and asked.path.startswith(API_PREFIX) and not response.is_streamed):
            response.add_etag()
            response.make_conditional(request)
        return response


IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False,
                 "schema": {"type": "string"},
                 "description": "An `ETag` from an earlier answer: 304 with no body if nothing changed."}


class OpenApiPlugin(BasePlugin):
    """Declares If-None-Match, the ETag header and the 304 on every GET."""

    def init_spec(self, spec):
        spec.components.header("ETag", {
            "schema": {"type": "string"},
            "description": "Names this answer's bytes; send it back in `If-None-Match`."})

    def operation_helper(self, path=None, operations=None, **kwargs):
        get = (operations or {}).get("get")
        if get is None or not (path or "").startswith(API_PREFIX):
            return
        responses = get.setdefault("responses", {})
        ok = next((responses[code] for code in responses if str(code) == "200"), None)
        if ok is None:
            return
        get.setdefault("parameters", []).append(IF_NONE_MATCH)  # inline: every parameter named
        ok.setdefault("headers", {})["ETag"] = "ETag"
        responses.setdefault("304", {"description": "Not modified: the `ETag` sent is current."})
