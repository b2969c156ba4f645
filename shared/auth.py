"""Bearer tokens with scopes: stored hashed, created by the CLI, checked on writes."""
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UTCDateTime, utcnow
from shared.errors import problem

SCOPES = {
    # events:write changes the events the same token created; events:admin changes any.
    # registrations:write registers people and is told the outcome (kiosks, municipal systems).
    "registration": {"events:write", "events:admin", "registrations:read", "registrations:write"},
    "commitments": {"commitments:write"},
    "notifications": {"deliveries:read", "subscriptions:read"},
}
PREFIX = "abt_"
DEFAULT_LIFETIME = timedelta(days=365)
# A busy integration would otherwise write its token's row on every request.
USE_RECORDED_EVERY = timedelta(minutes=1)


class TokenMixin:
    """Columns of the `api_tokens` table every service has; only the hash is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    expires_at = mapped_column(UTCDateTime, nullable=True)  # None: never (none made so now)
    last_used_at = mapped_column(UTCDateTime, nullable=True)  # to the minute

    @property
    def scope_set(self):
        return set(self.scopes.split())

    def expired(self, now):
        return self.expires_at is not None and self.expires_at <= now

    def note_use(self, now):
        """Remember the last use, writing at most once a minute per token."""
        if self.last_used_at is None or now - self.last_used_at >= USE_RECORDED_EVERY:
            self.last_used_at = now


@dataclass(frozen=True)
class Caller:
    """Who a request's token is: what the use cases that have owners need to know."""

    token_id: int
    name: str
    scopes: frozenset


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session, model, name, scopes, lifetime=DEFAULT_LIFETIME, now=None):
    """Store a new token's hash and return the token itself (shown once)."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(model(name=name, token_hash=hash_token(token), scopes=" ".join(sorted(scopes)),
                      expires_at=(now or utcnow()) + lifetime))
    return token


def find_token(session, model, token):
    """The active token row for a presented token, or None."""
    row = session.scalar(select(model).where(model.token_hash == hash_token(token)))
    return row if row is not None and row.revoked_at is None else None


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
            g.scoped = "Authorization" in request.headers
            if g.scoped:
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
