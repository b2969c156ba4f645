"""registrations.accessibility_needs: what a person needs to take part (optional)

Revision ID: 7c2d1a9e4b10
Revises: eb41499635a5
Create Date: 2026-11-29 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '7c2d1a9e4b10'
down_revision: Union[str, Sequence[str], None] = 'eb41499635a5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the optional column (nullable: existing rows have nothing to say)."""
    op.add_column('registrations',
                  sa.Column('accessibility_needs', sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Drop the column (batch mode: SQLite rebuilds the table)."""
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('accessibility_needs')
