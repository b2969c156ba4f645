"""oppositions: the addresses that asked for no email but what an active registration needs

Revision ID: 7a3d9e41c2b6
Revises: 3b9d0f6a2e71
Create Date: 2026-12-04 19:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db

revision: str = '7a3d9e41c2b6'
down_revision: Union[str, Sequence[str], None] = '3b9d0f6a2e71'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('oppositions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox_key', sa.String(length=254), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oppositions')),
    sa.UniqueConstraint('mailbox_key', name=op.f('uq_oppositions_mailbox_key'))
    )


def downgrade() -> None:
    op.drop_table('oppositions')
