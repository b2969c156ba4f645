"""api_tokens.expires_at and last_used_at: tokens expire, and show when they were last used

Revision ID: 6b1f0e4c2a93
Revises: 50b78693bee7
Create Date: 2026-12-04 15:20:00

"""
from datetime import datetime, timedelta, timezone
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shared.db


# revision identifiers, used by Alembic.
revision: str = '6b1f0e4c2a93'
down_revision: Union[str, Sequence[str], None] = '50b78693bee7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TOKENS = sa.table('api_tokens', sa.column('expires_at', shared.db.UTCDateTime(timezone=True)))


def upgrade() -> None:
    """Tokens expire and remember their last use."""
    op.add_column('api_tokens', sa.Column('expires_at', shared.db.UTCDateTime(timezone=True),
                                          nullable=True))
    op.add_column('api_tokens', sa.Column('last_used_at', shared.db.UTCDateTime(timezone=True),
                                          nullable=True))
    # Tokens made before expiry existed get the new default, a year, counted from today:
    # none stops working at the upgrade, and none lives forever.
    op.execute(TOKENS.update().values(
        expires_at=datetime.now(timezone.utc) + timedelta(days=365)))


def downgrade() -> None:
    """Drop the columns (batch mode: SQLite rebuilds the table)."""
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
