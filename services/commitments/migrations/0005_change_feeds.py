"""change feeds: every listed row gets its place in the order of changes; deletions leave tombstones

Revision ID: 77670208baa0
Revises: 5d2e8a41c7f0
Create Date: 2026-12-04 21:36:29.911001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shared.db
from shared import changes


# revision identifiers, used by Alembic.
revision: str = '77670208baa0'
down_revision: Union[str, Sequence[str], None] = '5d2e8a41c7f0'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TRACKED = {'action_plans': None, 'commitments': None}
# A milestone moves its commitment's progress, a commitment its plan's.
PARENTS = {'milestones': ('commitments', 'commitment_id'),
           'commitments': ('action_plans', 'action_plan_id')}


def upgrade() -> None:
    op.create_table('change_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_counter'))
    )
    op.create_table('feed_tombstones',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=True),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.Column('change_xid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'item_id', name=op.f('pk_feed_tombstones'))
    )
    with op.batch_alter_table('feed_tombstones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_tombstones_change_seq'), ['change_seq'], unique=False)

    with op.batch_alter_table('action_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('change_xid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_action_plans_change_seq'), ['change_seq'], unique=False)

    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('change_xid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_commitments_change_seq'), ['change_seq'], unique=False)

    changes.install(op, TRACKED, PARENTS)


def downgrade() -> None:
    changes.uninstall(op, TRACKED, PARENTS)
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitments_change_seq'))
        batch_op.drop_column('change_xid')
        batch_op.drop_column('change_seq')

    with op.batch_alter_table('action_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_plans_change_seq'))
        batch_op.drop_column('change_xid')
        batch_op.drop_column('change_seq')

    with op.batch_alter_table('feed_tombstones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_tombstones_change_seq'))

    op.drop_table('feed_tombstones')
    op.drop_table('change_counter')
