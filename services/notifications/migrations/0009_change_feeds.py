"""change feeds: every listed row gets its place in the order of changes; deletions leave tombstones

Revision ID: 55b2cf48dbb6
Revises: 9e4b7c21d5a3
Create Date: 2026-12-04 21:54:37.100320

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shared.db
from shared import changes


# revision identifiers, used by Alembic.
revision: str = '55b2cf48dbb6'
down_revision: Union[str, Sequence[str], None] = '9e4b7c21d5a3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The listed tables, and the column naming the list a deleted row was in: a delivery's
# endpoint (its webhook log), an endpoint's owner token (a token sees only its own).
TRACKED = {'deliveries': 'endpoint_id', 'subscriptions': None,
           'webhook_endpoints': 'owner_token_id'}


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

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('change_xid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_deliveries_change_seq'), ['change_seq'], unique=False)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('change_xid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_subscriptions_change_seq'), ['change_seq'], unique=False)

    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('change_xid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_change_seq'), ['change_seq'], unique=False)

    changes.install(op, TRACKED)


def downgrade() -> None:
    changes.uninstall(op, TRACKED)
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_change_seq'))
        batch_op.drop_column('change_xid')
        batch_op.drop_column('change_seq')

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_change_seq'))
        batch_op.drop_column('change_xid')
        batch_op.drop_column('change_seq')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_change_seq'))
        batch_op.drop_column('change_xid')
        batch_op.drop_column('change_seq')

    with op.batch_alter_table('feed_tombstones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_tombstones_change_seq'))

    op.drop_table('feed_tombstones')
    op.drop_table('change_counter')
