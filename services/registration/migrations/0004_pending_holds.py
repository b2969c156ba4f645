"""Seats held until their person confirms by email: events.confirm_by_email, registrations.held_until

Revision ID: 3a91c0f2d7b4
Revises: 3e5a9c1d7f20
Create Date: 2026-12-04 15:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db


# revision identifiers, used by Alembic.
revision: str = '3a91c0f2d7b4'
down_revision: Union[str, Sequence[str], None] = '3e5a9c1d7f20'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Existing events keep today's behaviour (off); no registration holds a seat pending."""
    op.add_column('events', sa.Column('confirm_by_email', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.add_column('registrations', sa.Column('held_until', shared.db.UTCDateTime(timezone=True),
                                             nullable=True))
    op.create_index('ix_registrations_holds', 'registrations', ['status', 'held_until'])


def downgrade() -> None:
    """Drop them (batch mode: SQLite rebuilds the tables)."""
    op.drop_index('ix_registrations_holds', table_name='registrations')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('held_until')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('confirm_by_email')
