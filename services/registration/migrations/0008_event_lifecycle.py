"""event lifecycle: status, reminders, coalesced changes, invite sequence, check-in, staff links

Revision ID: f4191feeffa5
Revises: 3c9f5a17e2d8
Create Date: 2026-12-04 20:33:51
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db

revision: str = 'f4191feeffa5'
down_revision: Union[str, Sequence[str], None] = '3c9f5a17e2d8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('event_reminders',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('offset_seconds', sa.Integer(), nullable=False),
    sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_reminders_event_id_events')),
    sa.PrimaryKeyConstraint('event_id', 'offset_seconds', name=op.f('pk_event_reminders'))
    )
    op.create_table('staff_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_by_token_id', sa.Integer(), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_staff_links_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_links')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('staff_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_links_event_id'), ['event_id'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_en', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('description_en', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('online_url', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='scheduled', nullable=False))
        batch_op.add_column(sa.Column('status_reason', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reminders', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('change_pending_since', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('change_before', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_events_change_pending_since'), ['change_pending_since'], unique=False)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invite_sequence', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('checked_in_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('walk_in', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('walk_in')
        batch_op.drop_column('checked_in_at')
        batch_op.drop_column('invite_sequence')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_change_pending_since'))
        batch_op.drop_column('change_before')
        batch_op.drop_column('change_pending_since')
        batch_op.drop_column('reminders')
        batch_op.drop_column('status_reason')
        batch_op.drop_column('status')
        batch_op.drop_column('online_url')
        batch_op.drop_column('description_en')
        batch_op.drop_column('title_en')

    with op.batch_alter_table('staff_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_links_event_id'))

    op.drop_table('staff_links')
    op.drop_table('event_reminders')
