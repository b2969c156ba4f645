"""What every service's Flask app has: settings, DB, problem+json errors, OpenAPI, health."""
import json
from dataclasses import dataclass, field

from flask import Flask, current_app, jsonify, request
from flask_smorest import Api, Blueprint
from flask_smorest.utils import resolve_schema_instance
from webargs.flaskparser import FlaskParser

from shared import errors, signing
from shared.bus import Bus
from shared.db import Database, utcnow
from shared.ratelimit import PublicRateLimit


class ProblemApi(Api):
    """flask-smorest, answering errors with problem+json instead of its own format."""

    ERROR_SCHEMA = errors.ProblemSchema

    def handle_http_exception(self, error):
        return errors.from_http_exception(error)


class StrictParser(FlaskParser):
    """Query strings too follow the schema's `unknown = RAISE` (webargs excludes by default)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": None, "querystring": None}

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as error:
            # Arrays nested thousands deep, or a number of thousands of digits: JSON we do
            # not take, answered like any other invalid body rather than as a crash.
            raise json.JSONDecodeError(str(error), "(body)", 0) from error


class ApiBlueprint(Blueprint):
    """The blueprint every service's API uses."""

    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema, *args, **kwargs):
        # webargs builds a new instance of a schema class on every request, which costs
        # more than the load itself; schemas keep no state, so one per view is enough.
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)


@dataclass
class Service:
    """The collaborators a service's views reach through `current_app.extensions["abierto"]`."""

    settings: object
    db: Database
    token_model: type
    bus: Bus = None
    clock: object = utcnow
    rate_limit: PublicRateLimit = None
    extra: dict = field(default_factory=dict)


def create_service_app(settings, title, token_model, blueprints=(), *, db=None, bus=None,
                       clock=utcnow):
    """A Flask app for one service with the parts every service shares."""
    app = Flask(settings.service)
    # The session cookie (the forms' CSRF token) signs with its own derived key; Flask 3.1
    # signs with SECRET_KEY and still accepts cookies signed with a SECRET_KEY_FALLBACKS key.
    *session_fallbacks, session_key = settings.keys.for_purpose(signing.SESSION)
    app.config.update(
        API_TITLE=title, API_VERSION="v1", OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes, SECRET_KEY=session_key,
        SECRET_KEY_FALLBACKS=session_fallbacks, JSON_SORT_KEYS=False,
    )
    service = Service(settings, db or Database(settings.database_url), token_model,
                      bus or Bus.from_url(settings.redis_url), clock,
                      PublicRateLimit(settings.redis_url, settings.public_rate_limit,
                                      settings.service))
    app.extensions["abierto"] = service
    api = ProblemApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}})
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    errors.install(app)
    app.before_request(_refuse_nul_in_address)

    @app.get("/healthz")
    def healthz():
        """The process is alive."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        """The database and Redis answer."""
        checks = {"database": _check(service.db.ping), "redis": _check(service.bus.ping)}
        ready = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503

    return app


def _refuse_nul_in_address():
    # No id, code or filter of ours holds U+0000, and PostgreSQL fails on it in a query.
    if "\x00" in request.path or b"%00" in request.query_string:
        return errors.problem(400, "The address contains a NUL character (%00).")
    return None


def _check(probe):
    try:
        probe()
        return "ok"
    except Exception as error:  # any failure means "not ready"; the type says which
        return f"error: {type(error).__name__}"


def service():
    """The current app's collaborators."""
    return current_app.extensions["abierto"]
