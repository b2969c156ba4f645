"""registrations: accessibility_consent_at (needs ask their own consent) and anonymised_at
(RETENTION_DAYS after the event)

Revision ID: 8c2f4e1a9b37
Revises: 66a622cfce29
Create Date: 2026-12-05 10:00:00

Needs given before this upgrade keep a NULL consent time: they were given under the general
consent only, and the row says so rather than claim a consent nobody gave.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import shared.db


revision: str = '8c2f4e1a9b37'
down_revision: Union[str, Sequence[str], None] = '66a622cfce29'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accessibility_consent_at',
                                      shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', shared.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('accessibility_consent_at')
