"""outbox and deliveries: cloudevent_id and cloudevent_type, a CloudEvent's id and type named apart from a meeting's

Revision ID: ec6fff8c38cb
Revises: 9d4e2b7a5c18
Create Date: 2026-12-04 17:45:00

Values are kept as they are: a delivery's idempotency key hashes the CloudEvent id's
value, so a redelivered CloudEvent still finds its delivery after the upgrade.
"""
from typing import Sequence, Union

from alembic import op

from shared.migrations.cloudevent_names import rename_outbox_columns


# revision identifiers, used by Alembic.
revision: str = 'ec6fff8c38cb'
down_revision: Union[str, Sequence[str], None] = '9d4e2b7a5c18'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Rename the columns of both tables, and the deliveries' index with its column."""
    rename_outbox_columns('event', 'cloudevent')
    _rename_delivery_columns('event', 'cloudevent')


def downgrade() -> None:
    """Back to the old names."""
    _rename_delivery_columns('cloudevent', 'event')
    rename_outbox_columns('cloudevent', 'event')


def _rename_delivery_columns(old, new):
    # The index is made outside the batch: SQLite's rebuild cannot index a column renamed
    # in the same batch. On PostgreSQL, writes to deliveries wait while it is built.
    op.drop_index(f'ix_deliveries_{old}_id', table_name='deliveries')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column(f'{old}_id', new_column_name=f'{new}_id')
        batch_op.alter_column(f'{old}_type', new_column_name=f'{new}_type')
    op.create_index(f'ix_deliveries_{new}_id', 'deliveries', [f'{new}_id'], unique=False)
