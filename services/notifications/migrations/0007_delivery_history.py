"""deliveries.history: who retried a failed delivery, when, and what it had failed with

Revision ID: 5c8e1f2a9d47
Revises: 7a3d9e41c2b6
Create Date: 2027-01-10 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '5c8e1f2a9d47'
down_revision: Union[str, Sequence[str], None] = '7a3d9e41c2b6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('history', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('history')
