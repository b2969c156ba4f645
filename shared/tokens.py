"""API tokens without Flask: the table's columns, hashing, creating and finding a token,
and who a token is. Models and the CLI import this; shared.auth adds the Flask decorators."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UTCDateTime, utcnow

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
