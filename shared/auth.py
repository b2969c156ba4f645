"""Bearer tokens with scopes: stored hashed, created by the CLI, checked on writes."""
import functools
import hashlib
import secrets

from flask import current_app, g, request
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.errors import problem

SCOPES = {
    "registration": {"events:write", "registrations:read", "registrations:write"},
    "commitments": {"commitments:write"},
    "notifications": {"deliveries:read", "subscriptions:read"},
}
PREFIX = "abt_"


class TokenMixin:
    """Columns of the `api_tokens` table every service has; only the hash is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def scope_set(self):
        return set(self.scopes.split())


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session, model, name, scopes):
    """Store a new token's hash and return the token itself (shown once)."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(model(name=name, token_hash=hash_token(token), scopes=" ".join(sorted(scopes))))
    return token


def find_token(session, model, token):
    """The active token row for a presented token, or None."""
    row = session.scalar(select(model).where(model.token_hash == hash_token(token)))
    return row if row is not None and row.revoked_at is None else None


def _refusal(scope):
    """None when the request carries an active bearer token with `scope`, else the 401/403."""
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": f'Bearer scope="{scope}"'}
    if kind.lower() != "bearer" or not token.strip():
        return problem(401, "A bearer token is required.", headers=challenge)
    service = current_app.extensions["abierto"]
    with service.db.transaction() as session:
        row = find_token(session, service.token_model, token.strip())
        scopes, g.actor = (row.scope_set, row.name) if row else (None, None)
    if scopes is None:
        return problem(401, "The token is unknown or revoked.", headers=challenge)
    if scope not in scopes:
        return problem(403, f"The token lacks the scope `{scope}`.")
    return None


def optional(scope):
    """Decorate a public view that says more to a token with `scope`: without an
    Authorization header the view runs with `g.scoped` False; with one, the token must be
    active and have the scope (401/403 otherwise, never a silent fall back to anonymous)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            g.scoped = "Authorization" in request.headers
            if g.scoped:
                refused = _refusal(scope)
                if refused is not None:
                    return refused
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require(scope):
    """Decorate a view: a bearer token with `scope` is needed (401 without, 403 without scope)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            refused = _refusal(scope)
            return view(*args, **kwargs) if refused is None else refused

        wrapper._required_scope = scope
        return wrapper

    return decorator
