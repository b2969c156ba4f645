"""registration ids never reused: SQLite's registrations table gets its AUTOINCREMENT back

Revision ID: 2b8e4c1d9a07
Revises: c7e5376804a3
Create Date: 2026-12-05 03:20:00

0001 made the table with AUTOINCREMENT, as the model declares, but the batch migrations
after it copied the table anew on SQLite without it; SQLite then gives a new registration
the id of the newest one erased, and the erased person's cancel link and check-in code
(signed with that id) would reach the newcomer. PostgreSQL's sequence never went back.
The ids erased before this migration above the newest row left cannot be known: from here on
none is given twice.
"""
from typing import Sequence, Union

from alembic import op

from shared import changes

revision: str = '2b8e4c1d9a07'
down_revision: Union[str, Sequence[str], None] = 'c7e5376804a3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TRACKED = {'registrations': 'event_id'}  # as 0009 installed it


def _copy(autoincrement):
    if op.get_bind().dialect.name != 'sqlite':
        return
    # The copy keeps the rows and their ids (and, with AUTOINCREMENT, notes the highest as
    # used); its triggers go with the old table, so they are installed again.
    with op.batch_alter_table('registrations', recreate='always',
                              table_kwargs={'sqlite_autoincrement': autoincrement}):
        pass
    changes.install(op, TRACKED)


def upgrade() -> None:
    _copy(True)


def downgrade() -> None:
    _copy(False)
