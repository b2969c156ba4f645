"""What every service's Flask app has: settings, DB, problem+json errors, OpenAPI, health,
the stylesheet, and the security headers and cookie flags of every answer."""
import json
from dataclasses import dataclass
from itertools import product
from types import FunctionType, MethodType
from urllib.parse import urlsplit

from flask import Blueprint as FlaskBlueprint
from flask import Flask, Response, current_app, g, jsonify, request
from flask.ctx import RequestContext
from flask.sessions import SecureCookieSessionInterface
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from flask_smorest.utils import resolve_schema_instance
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected, HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import (asyncapi, errors, etags, idempotent_posts, openapi_answers, openapi_rules,
                    signing)
from shared.auth import sends_token
from shared.bus import Bus
from shared.db import Database, utcnow
from shared.idempotency import IdempotencyStore
from shared.ratelimit import PublicRateLimit
from shared.schemas import SchemaRulesPlugin, item_or_tombstone_property


# Every page's one stylesheet; pages carry no inline style or script, so the CSP needs neither.
assets = FlaskBlueprint("abierto_assets", __name__, static_folder="static",
                        static_url_path="/assets")

# Pages load only from their own origin, cannot be framed, and post forms only to their own
# origin (plus the targets a service names); everything else (JSON, problem+json, .ics, CSS)
# is data that must never be rendered as a document able to load anything.
PAGE_POLICY = "default-src 'self'; frame-ancestors 'none'; form-action {forms}; base-uri 'none'"
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"


def secret_url(view):
    """Mark a view whose URL holds a signed token (a link from an email).

    Its answers send no Referer, so the token never reaches another site through a link
    or a resource, and are never stored by a cache, since they show whose link it is.
    """
    view.abierto_secret_url = True
    return view


def personal_answer():
    """Say that this request's answer is the visitor's alone (it holds their session's CSRF
    token, say), so no cache keeps it. Flask writes the session cookie after every
    after_request hook, so the headers cannot show it; and reading `session` there would
    itself mark every answer as varying by cookie."""
    g.abierto_personal = True


class ServiceResponse(Response):
    """Flask's answers, whose headers are handed to the server without being checked again
    when nothing in them is to change."""

    def get_wsgi_headers(self, environ):
        # werkzeug's copies every header through Headers.add, which checks each value for
        # a newline again (every value was checked when it was put there: add, set and
        # assignment check, as shared.web's security headers were when made); its copy
        # changes nothing when no Location or Content-Location is to be made absolute and
        # the Content-Length is there to stay (not 1xx, 204, 304). Any other answer goes
        # werkzeug's way.
        status, names = self.status_code, [name.lower() for name, _ in self.headers]
        if (status < 200 or status in (204, 304) or "content-length" not in names
                or "location" in names or "content-location" in names):
            return super().get_wsgi_headers(environ)
        copy = Headers()
        copy._list = list(self.headers._list)
        return copy


class ServiceFlask(Flask):
    """Flask, keeping what it would work out again on every request. It asks of every hook
    and view whether it is a coroutine function (inspect's checks, about twenty a request);
    none of ours is, and a function's answer never changes, so each function is asked
    once. It binds the URL map to the request, and matches the path to a rule: see
    create_url_adapter and RoutesRemembered."""

    response_class = ServiceResponse

    # What werkzeug binds a request's URL adapter to: the host (the Host header, else the
    # server's name and port; the scheme drops its default port), a WebSocket upgrade, and
    # the request's script, path, method and query string.
    ADAPTER_BOUND_BY = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT",
                        "HTTP_CONNECTION", "HTTP_UPGRADE", "SCRIPT_NAME", "PATH_INFO",
                        "REQUEST_METHOD", "QUERY_STRING")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions = set()
        self.routes_found = {}  # see RoutesRemembered
        self.adapters_made = {}  # see create_url_adapter

    def request_context(self, environ):
        return RoutesRemembered(self, environ)

    def create_url_adapter(self, request):
        # Flask binds the URL map to every request (the host read twice, the server name
        # IDNA-encoded, a new MapAdapter): the adapter, which matching and building only
        # read, and the host depend only on ADAPTER_BOUND_BY and the config, so requests
        # bound alike share one. Not with TRUSTED_HOSTS, which Flask checks per request;
        # a refusal (a bad host) is never kept.
        if request is None or self.config["TRUSTED_HOSTS"] is not None:
            return super().create_url_adapter(request)
        made = self.adapters_made
        key = (self.config["SERVER_NAME"], *map(request.environ.get, self.ADAPTER_BOUND_BY))
        if _too_long_to_keep(key):
            return super().create_url_adapter(request)
        kept = made.get(key)
        if kept is None:
            adapter = super().create_url_adapter(request)  # sets request.host
            if len(made) >= RoutesRemembered.REMEMBERED:
                made.clear()
            made[key] = request.host, adapter
            return adapter
        request.host, adapter = kept  # as Flask sets it
        return adapter

    def ensure_sync(self, func):
        # A view method is bound to a new MethodView each request: its function is the key.
        plain = func.__func__ if type(func) is MethodType else func
        if type(plain) is not FunctionType:  # a partial, say: it may be made per request
            return super().ensure_sync(func)
        if plain in self._sync_functions:
            return func
        synced = super().ensure_sync(func)
        if synced is func:
            self._sync_functions.add(plain)
        return synced


class RoutesRemembered(RequestContext):
    """A request context that matches each address and method once: werkzeug's matcher
    walks the rules part by part, converts the values and looks for a rule with defaults
    that would redirect, on every request, and the answer only depends on the address,
    the method and the rules (fixed once the app serves). A refusal (404, 405, a
    redirect) is never kept: it is worked out again each time, as before."""

    REMEMBERED = 4096  # addresses per process; then all are forgotten and found again

    def match_request(self):
        adapter, found = self.url_adapter, self.app.routes_found
        # What werkzeug's MapAdapter.match matches on: its domain part, path, method.
        domain = (adapter.subdomain if not adapter.map.host_matching and adapter.subdomain
                  is not None else adapter.server_name)
        key = (domain, adapter.path_info, adapter.default_method, adapter.websocket)
        if _too_long_to_keep(key):
            return super().match_request()
        match = found.get(key)
        if match is None:
            try:
                match = adapter.match(return_rule=True)
            except HTTPException as error:
                self.request.routing_exception = error
                return
            if len(found) >= self.REMEMBERED:
                found.clear()
            found[key] = match
        rule, values = match
        self.request.url_rule, self.request.view_args = rule, dict(values)  # the view's own


# What one kept address may be made of (its host, path, query string...), in characters:
# anyone may send long ones to any path, and each kept one stays until the next clearing,
# so what a process keeps stays within a few MB however it is asked.
KEPT_KEY_MAX = 512


def _too_long_to_keep(key):
    return sum(len(part) for part in key if type(part) is str) > KEPT_KEY_MAX


class KeptSignerSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, whose signer (itsdangerous's, over SECRET_KEY and its
    fallbacks) is made once, not on every request: every request opens the session, an API
    POST too, and making it cost more than the rest of opening one without a cookie."""

    _kept = None  # (the keys, their signer)

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._kept is None or self._kept[0] != keys:
            self._kept = keys, super().get_signing_serializer(app)
        return self._kept[1]

    def open_session(self, app, request):
        # No Cookie header, no session cookie: the empty session Flask's own code would
        # open, without parsing the request's headers for cookies (an API POST sends none).
        if "HTTP_COOKIE" not in request.environ and self.get_signing_serializer(app) is not None:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        # Empty, never read nor changed (every API request's): Flask's own would look up
        # the cookie's seven settings only to do nothing.
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)


class ProblemApi(Api):
    """flask-smorest, answering errors with problem+json instead of its own format."""

    ERROR_SCHEMA = errors.ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each error is declared by status (shared.openapi_answers)

    def handle_http_exception(self, error):
        return errors.from_http_exception(error)


class StrictParser(FlaskParser):
    """Query strings too follow the schema's `unknown = RAISE` (webargs excludes by default)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": None, "querystring": None}

    def get_default_request(self):
        # The request behind Flask's proxy, not the proxy: the loaders read several of its
        # attributes, and each read through the proxy costs a failed lookup (see service()).
        return request._get_current_object()

    def _raw_load_json(self, req):
        try:
            if req.environ.get("CONTENT_TYPE") != "application/json":  # see _json_body
                return super()._raw_load_json(req)
            return webargs_core.parse_json(_json_body(req))
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as error:
            # Arrays nested thousands deep, or a number of thousands of digits: JSON we do
            # not take, answered like any other invalid body rather than as a crash.
            raise json.JSONDecodeError(str(error), "(body)", 0) from error


def _json_body(req):
    """`req.get_data()` of a body sent as exactly `application/json` (what FlaskParser
    would take as JSON, its mimetype not parsed again), read in one call when its
    Content-Length is within MAX_CONTENT_LENGTH: werkzeug's LimitedStream reads the same
    bytes through a dozen Python calls. A server that sets wsgi.input_terminated
    (gunicorn) ends the stream at Content-Length; without it, a short body is a
    disconnected client, as in werkzeug. No length or not plain digits (werkzeug's
    reading of it decides), chunked, a longer one (its 413), or a body already read:
    werkzeug's own way."""
    environ, held = req.environ, vars(req)
    length = environ.get("CONTENT_LENGTH", "")
    if (not (length.isascii() and length.isdigit()) or "HTTP_TRANSFER_ENCODING" in environ
            or held.get("_cached_data") is not None or "stream" in held):
        return req.get_data()
    length, limit = int(length), req._max_content_length  # this request's own limit, if set
    if limit is None:
        # The app's, as req.max_content_length reads it, without its two proxy lookups.
        limit = current_app._get_current_object().config["MAX_CONTENT_LENGTH"]
    if limit is not None and length > limit:
        return req.get_data()  # its 413
    stream, data = environ["wsgi.input"], b""
    try:
        while len(data) < length:
            more = stream.read(length - len(data))
            if not more:
                break
            data += more
    except (OSError, ValueError) as error:
        raise ClientDisconnected() from error
    if len(data) < length and "wsgi.input_terminated" not in environ:
        raise ClientDisconnected()
    req._cached_data = data  # as get_data(cache=True) keeps it, for anyone reading it again
    return data


def _doc_only(decorate):
    """flask-smorest's `doc` and `alt_response` only add to a view's OpenAPI (`_apidoc`), yet
    wrap it in a layer that calls it through `current_app.ensure_sync`: every request pays
    for each. Keep what they write, drop the layer (a MethodView class they decorate as
    is)."""

    def decorator(view):
        wrapper = decorate(view)
        if getattr(wrapper, "__wrapped__", None) is not view:
            return wrapper
        view._apidoc = wrapper._apidoc
        return view

    return decorator


class ApiView(MethodView):
    """The class of every API resource: Flask's MethodView, which runs the method named as
    the request's, as GET for a HEAD without its own; it reads the method and the app
    through Flask's proxies, each read a failed lookup first (see service())."""

    def dispatch_request(self, **kwargs):
        method = request._get_current_object().method
        run = getattr(self, method.lower(), None)
        if run is None and method == "HEAD":
            run = getattr(self, "get", None)
        assert run is not None, f"Unimplemented method {method!r}"
        return current_app._get_current_object().ensure_sync(run)(**kwargs)


class ApiBlueprint(Blueprint):
    """The blueprint every service's API uses."""

    ARGUMENTS_PARSER = StrictParser()

    def alt_response(self, *args, **kwargs):
        return _doc_only(super().alt_response(*args, **kwargs))

    @staticmethod
    def doc(**kwargs):
        return _doc_only(Blueprint.doc(**kwargs))

    def arguments(self, schema, *args, **kwargs):
        # webargs builds a new instance of a schema class on every request, which costs
        # more than the load itself; schemas keep no state, so one per view is enough.
        schema = resolve_schema_instance(schema)
        loads = self._loads_directly(super().arguments(schema, *args, **kwargs), schema, **kwargs)
        rules = openapi_rules.stated(schema)
        if not rules:
            return loads
        return lambda view: self._state_rules(loads(view), rules)

    def _loads_directly(self, documents, schema, *, location="json", content_type=None,
                        required=True, description=None, example=None, examples=None,
                        **use_args):
        """flask-smorest's `arguments` (`documents`) writes the view's OpenAPI, then has
        webargs wrap a layer of its own that only calls the view through
        `current_app.ensure_sync`, a proxy lookup on every request. Keep what it writes;
        webargs wraps the view itself, with what flask-smorest passes it (the other
        keywords only document)."""

        def decorator(view):
            documented = documents(view)
            loading = self.ARGUMENTS_PARSER.use_args(schema, location=location, **use_args)(view)
            loading._apidoc = documented._apidoc
            return loading

        return decorator

    def _state_rules(self, view, rules):
        """The operation's `x-abierto-rules`: these and those of its other arguments."""
        before = getattr(view, "_apidoc", {}).get("manual_doc", {}).get("x-abierto-rules", [])
        return self.doc(**{"x-abierto-rules": [*before, *rules]})(view)


@dataclass(kw_only=True)
class Service:
    """What a service's views reach through `service()`: its settings and collaborators.

    Each service subclasses it with the objects of its own views (links, clients, limits),
    made by its app factory from Settings; tests pass db, bus or clock instead of patching.
    """

    settings: object
    token_model: type
    db: Database = None  # None: the one at settings.database_url
    bus: Bus = None  # None: the one at settings.redis_url
    clock: object = utcnow
    rate_limit: PublicRateLimit = None  # None: settings.public_rate_limit
    idempotency: IdempotencyStore = None  # None: kept in Redis at settings.redis_url

    def __post_init__(self):
        settings = self.settings
        if self.db is None:
            self.db = Database(settings.database_url)
        if self.bus is None:
            self.bus = Bus.from_url(settings.redis_url)
        if self.rate_limit is None:
            self.rate_limit = PublicRateLimit(settings.redis_url, settings.public_rate_limit,
                                              settings.service)
        if self.idempotency is None:
            self.idempotency = IdempotencyStore.from_url(
                settings.redis_url, settings.service, settings.keys.for_purpose("idempotency")[-1])


def create_service_app(service, title, blueprints=(), *, form_targets=()):
    """A Flask app for one service (a `Service`) with the parts every service shares.

    `form_targets`: URLs on other origins that this service's pages post forms to.
    """
    settings = service.settings
    app = ServiceFlask(settings.service)
    app.session_interface = KeptSignerSessions()
    https = settings.public_base_url.startswith("https://")
    # The session cookie (the forms' CSRF token) signs with its own derived key; Flask 3.1
    # signs with SECRET_KEY and still accepts cookies signed with a SECRET_KEY_FALLBACKS key.
    *session_fallbacks, session_key = settings.keys.for_purpose(signing.SESSION)
    app.config.update(
        API_TITLE=title, API_VERSION="v1", OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes, SECRET_KEY=session_key,
        SECRET_KEY_FALLBACKS=session_fallbacks, JSON_SORT_KEYS=False,
        # The CSRF session cookie; shared.i18n's language cookie follows the same flags.
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=https,
    )
    if settings.trusted_proxy_hops:
        # remote_addr becomes the address the Nth proxy from us saw; what a client writes
        # into X-Forwarded-For further left is ignored. The Host header is never taken
        # from a proxy: links are built from PUBLIC_BASE_URL.
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    app.extensions["abierto"] = service
    api = ProblemApi(app, spec_kwargs={"extra_plugins": [SchemaRulesPlugin(),
                                                         idempotent_posts.OpenApiPlugin(),
                                                         openapi_answers.ErrorAnswersPlugin(),
                                                         etags.OpenApiPlugin()],
                                       "components": {"securitySchemes": {
                                           "bearer": {"type": "http", "scheme": "bearer"}}}})
    api.ma_plugin.converter.add_attribute_function(item_or_tombstone_property)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    errors.install(app)
    app.before_request(_refuse_nul_in_address)
    idempotent_posts.install(app, service.idempotency)
    etags.install(app)
    app.register_blueprint(assets)
    page_policy = PAGE_POLICY.format(forms=" ".join(("'self'", *form_targets)))

    def security_headers(html, token_url, no_store):
        pairs = [("X-Content-Type-Options", "nosniff"),
                 ("Content-Security-Policy", page_policy if html else DATA_POLICY),
                 ("Referrer-Policy", "no-referrer" if token_url else "strict-origin-when-cross-origin")]
        if no_store:
            pairs.append(("Cache-Control", "no-store"))
        if https:
            pairs.append(("Strict-Transport-Security", HSTS))
        Headers(pairs)  # werkzeug's check of each value (no newline), made here once
        return tuple(pairs), frozenset(name.lower() for name, _ in pairs)

    # The headers of each kind of answer, made once: every answer only picks its kind's.
    headers_of = {kind: security_headers(*kind) for kind in product((False, True), repeat=3)}

    @app.after_request
    def _security_headers(response):
        # Registered first, so it runs after every other app-wide after_request hook and
        # sees their cookies (shared.i18n's language cookie).
        headers, asked = response.headers, request._get_current_object()  # see service()
        view = app.view_functions.get(asked.endpoint)
        token_url = bool(getattr(view, "abierto_secret_url", False))
        present = {name.lower() for name, _ in headers}  # read once, see _put
        # No cache keeps: a token link's page, what a bearer token reads (attendee lists,
        # deliveries), a page marked personal_answer(), or anything that sets a cookie.
        no_store = bool(token_url or sends_token(asked)
                        or g._get_current_object().get("abierto_personal")
                        or "set-cookie" in present)
        _put(headers, *headers_of[response.mimetype == "text/html", token_url, no_store], present)
        return response

    @app.get("/healthz")
    def healthz():
        """The process is alive."""
        return jsonify(status="ok")

    @app.get("/api/v1/asyncapi.json")
    def asyncapi_document():
        """The events on the bus (every service's), as AsyncAPI 3.0 (shared.asyncapi)."""
        redis_at = urlsplit(settings.redis_url)  # host and port only: never its password
        return jsonify(asyncapi.document(f"{redis_at.hostname or 'localhost'}:{redis_at.port or 6379}"))

    @app.get("/readyz")
    def readyz():
        """The database and Redis answer."""
        checks = {"database": _check(service.db.ping), "redis": _check(service.bus.ping)}
        ready = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503

    return app


def _put(headers, pairs, names, present):
    """`headers[name] = value` for each pair (whose lower-cased `names` are given), given
    the lower-cased names of the headers already there: each such assignment reads them
    all, and an answer seldom holds one of these names."""
    if present.isdisjoint(names):
        # Appended as they are: Headers.add would check each value for a newline again,
        # a regex search per header, and these were checked when made (security_headers).
        headers._list.extend(pairs)
        return
    for name, value in pairs:
        if name.lower() in present:
            headers[name] = value  # replaces it where it is, as the assignment does
        else:
            headers.add(name, value)


def _refuse_nul_in_address():
    # No id, code or filter of ours holds U+0000, and PostgreSQL fails on it in a query.
    asked = request._get_current_object()  # see service()
    if "\x00" in asked.path or b"%00" in asked.query_string:
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
    # Each attribute read through one of Flask's proxies (current_app, request, g) first
    # fails on the proxy, and that AttributeError costs about 0.5 µs; code on every
    # request's path takes the object behind it once.
    return current_app._get_current_object().extensions["abierto"]
