"""history: the database refuses UPDATE and DELETE of its rows; on PostgreSQL prepared by
docker/postgres/init.sh, the table passes to a role the service cannot become

Revision ID: 5d2e8a41c7f0
Revises: c116f058b793
Create Date: 2026-12-05 10:00:00

"""
from typing import Sequence, Union

from alembic import op

from services.commitments import history_guard


# revision identifiers, used by Alembic.
revision: str = '5d2e8a41c7f0'
down_revision: Union[str, Sequence[str], None] = 'c116f058b793'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The triggers, then the hand-over (after which only the superuser alters the table)."""
    history_guard.guard(op.get_bind())
    history_guard.seal(op.get_bind())


def downgrade() -> None:
    """Drop the triggers (on a sealed table this needs the superuser)."""
    history_guard.unguard(op.get_bind())
