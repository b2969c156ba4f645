"""the mail cap: each delivery's canonical mailbox, indexed with its time

Revision ID: 5e8b2c71d4a9
Revises: 41f3443b10f8
Create Date: 2026-12-04 15:30:00

Rows recorded before this have no mailbox_key and are not counted: the cap starts
counting at the upgrade (a mailbox may get one extra window's worth on that day).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '5e8b2c71d4a9'
down_revision: Union[str, Sequence[str], None] = '41f3443b10f8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailbox_key', sa.String(length=254), nullable=True))
        batch_op.create_index('ix_deliveries_mailbox_recent', ['mailbox_key', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_mailbox_recent')
        batch_op.drop_column('mailbox_key')
