"""Bearer tokens with scopes on a Flask request: the decorators views use (the tokens
themselves, stored hashed and created by the CLI, are shared.tokens)."""
import functools

from flask import current_app, g, request

from shared.errors import problem
from shared.tokens import Caller, find_token


def sends_token(asked):
    """Whether the request `asked` has an Authorization header, by its WSGI name: `in` on
    its headers raises and catches a KeyError when it has none, the anonymous case."""
    return "HTTP_AUTHORIZATION" in asked.environ


def _refusal(accepted):
    """None when the request carries a usable bearer token with one of the `accepted` scopes
    (then `g.caller` and `g.actor` say whose), else the 401/403 answer."""
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": f'Bearer scope="{" ".join(accepted)}"'}
    if kind.lower() != "bearer" or not token.strip():
        return problem(401, "A bearer token is required.", headers=challenge)
    caller, refusal = _caller(current_app.extensions["abierto"], token.strip())
    if refusal:
        return problem(401, refusal, headers=challenge)
    if caller.scopes.isdisjoint(accepted):
        return problem(403, f"The token lacks the scope `{'` or `'.join(accepted)}`.")
    g.caller, g.actor = caller, caller.name
    return None


def optional(scope):
    """Decorate a public view that says more to a token with `scope`: without an
    Authorization header the view runs with `g.scoped` False; with one, the token must be
    usable and have the scope (401/403 otherwise, never a silent fall back to anonymous)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            # The objects behind the proxies, each read once (see shared.web.service())
            scoped = sends_token(request._get_current_object())
            g._get_current_object().scoped = scoped
            if scoped:
                refused = _refusal((scope,))
                if refused is not None:
                    return refused
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require(scope, *alternatives):
    """Decorate a view: a bearer token with `scope` (or one of `alternatives`) is needed
    (401 without a usable token, 403 without the scope). The view finds the token in
    `g.caller` and its name in `g.actor`."""
    accepted = (scope, *alternatives)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            refused = _refusal(accepted)
            return view(*args, **kwargs) if refused is None else refused

        wrapper._required_scope = scope
        return wrapper

    return decorator


def caller(token):
    """(Caller, None) for a usable token of this app's service, or (None, why it is refused):
    for a view that takes a token some other way than the Authorization header."""
    return _caller(current_app.extensions["abierto"], token)


def _caller(service, token):
    """(Caller, None) for a usable token, or (None, why it is refused); notes the use."""
    now = service.clock()
    with service.db.transaction() as session:
        row = find_token(session, service.token_model, token)
        if row is None:
            return None, "The token is unknown or revoked."
        if row.expired(now):
            return None, "The token has expired."
        row.note_use(now)
        return Caller(row.id, row.name, frozenset(row.scope_set)), None
