"""outbox.cloudevent_id and cloudevent_type: a CloudEvent's id and type, named apart from a meeting's

Revision ID: c116f058b793
Revises: 6b1f0e4c2a93
Create Date: 2026-12-04 17:45:00

"""
from typing import Sequence, Union

from shared.migrations.cloudevent_names import rename_outbox_columns


# revision identifiers, used by Alembic.
revision: str = 'c116f058b793'
down_revision: Union[str, Sequence[str], None] = '6b1f0e4c2a93'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Rename the columns; the rows waiting to be relayed keep their values."""
    rename_outbox_columns('event', 'cloudevent')


def downgrade() -> None:
    """Back to the old names."""
    rename_outbox_columns('cloudevent', 'event')
