"""The renames the producing services' migrations share: a CloudEvent's id and type are
stored as `cloudevent_id` and `cloudevent_type`, as `event` alone means a meeting.

Batch mode: SQLite rebuilds the table, PostgreSQL renames the columns in place. Constraint
and index names follow shared.db's naming convention, so each is made anew under its
column's new name (the outbox holds only the facts not yet relayed: a small table).
"""
from alembic import op


def rename_outbox_columns(old, new):
    """outbox.<old>_id and <old>_type become <new>_id and <new>_type; the id stays unique."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(f'uq_outbox_{old}_id', type_='unique')
        batch_op.alter_column(f'{old}_id', new_column_name=f'{new}_id')
        batch_op.alter_column(f'{old}_type', new_column_name=f'{new}_type')
    # A second batch: SQLite's rebuild would silently leave out a constraint on a column
    # renamed in the same batch.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_unique_constraint(f'uq_outbox_{new}_id', [f'{new}_id'])
