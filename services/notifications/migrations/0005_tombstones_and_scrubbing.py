"""tombstones: erased addresses (hashed), so facts already on the bus email nobody; and
deliveries.context_scrubbed_at, when an email's stored content was emptied

Revision ID: 3b9d0f6a2e71
Revises: ec6fff8c38cb
Create Date: 2026-12-05 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shared.db


revision: str = '3b9d0f6a2e71'
down_revision: Union[str, Sequence[str], None] = 'ec6fff8c38cb'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'tombstones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address_hash', sa.String(length=64), nullable=False),
        sa.Column('erased_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tombstones')),
        sa.UniqueConstraint('address_hash', name=op.f('uq_tombstones_address_hash')),
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context_scrubbed_at', shared.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('context_scrubbed_at')
    op.drop_table('tombstones')
