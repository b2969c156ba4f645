"""Commitments' tables; for now the shared token and outbox tables (the plan tables come next)."""
from shared.auth import TokenMixin
from shared.db import make_base
from shared.outbox import OutboxMixin

Base = make_base()


class ApiToken(TokenMixin, Base):
    pass


class Outbox(OutboxMixin, Base):
    pass
