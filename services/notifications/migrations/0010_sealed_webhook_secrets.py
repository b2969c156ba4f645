"""sealed webhook secrets: endpoint secrets encrypted under a key derived from SECRET_KEY

Revision ID: 7d3f0a9c61b2
Revises: 55b2cf48dbb6
Create Date: 2026-12-04 23:50:00

The secrets already stored in clear are sealed here, so the migration needs the deployment's
SECRET_KEY (a key anyone could know is refused, as at every start, if there is one to seal).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from shared import changes

revision: str = '7d3f0a9c61b2'
down_revision: Union[str, Sequence[str], None] = '55b2cf48dbb6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# A Fernet token of a 50-character secret is 164 characters.
WIDE, NARROW = sa.String(length=255), sa.String(length=100)
TRACKED = {'webhook_endpoints': 'owner_token_id'}  # as 0009 installed it


def _widen(to, was):
    sqlite = op.get_bind().dialect.name == 'sqlite'
    # SQLite copies the table anew: keep its AUTOINCREMENT (ids never reused) and its triggers.
    with op.batch_alter_table('webhook_endpoints', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column('secret', existing_type=was, type_=to, existing_nullable=False)
        batch_op.alter_column('previous_secret', existing_type=was, type_=to,
                              existing_nullable=True)
    if sqlite:
        changes.install(op, TRACKED)


def _rewrite(change):
    """Apply `change` to every stored secret (the current and the previous one)."""
    table = sa.table('webhook_endpoints', sa.column('id'), sa.column('secret'),
                     sa.column('previous_secret'))
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.id, table.c.secret, table.c.previous_secret)).all()
    for row in rows:
        connection.execute(table.update().where(table.c.id == row.id).values(
            secret=change(row.secret),
            previous_secret=change(row.previous_secret) if row.previous_secret else None))


def _keys():
    from shared import config

    return config.load('notifications').keys


def upgrade() -> None:
    from services.notifications.webhooks import sealing

    _widen(WIDE, NARROW)
    if op.get_bind().execute(sa.text('SELECT 1 FROM webhook_endpoints LIMIT 1')).first():
        keys = _keys()
        _rewrite(lambda value: sealing.seal(keys, value) if value.startswith(sealing.CLEAR)
                 else value)


def downgrade() -> None:
    from services.notifications.webhooks import sealing

    if op.get_bind().execute(sa.text('SELECT 1 FROM webhook_endpoints LIMIT 1')).first():
        keys = _keys()
        _rewrite(lambda value: value if value.startswith(sealing.CLEAR)
                 else sealing.unseal(keys, value))
    _widen(NARROW, WIDE)
