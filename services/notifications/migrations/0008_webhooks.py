"""webhooks: endpoints, and deliveries that go to one (endpoint_id, last_status_code)

Revision ID: 9e4b7c21d5a3
Revises: 5c8e1f2a9d47
Create Date: 2027-02-01 10:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db

revision: str = '9e4b7c21d5a3'
down_revision: Union[str, Sequence[str], None] = '5c8e1f2a9d47'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=True),
        sa.Column('event_types', sa.JSON(), nullable=False),
        sa.Column('contact_email', sa.String(length=254), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('previous_secret', sa.String(length=100), nullable=True),
        sa.Column('previous_secret_until', shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.Text(), nullable=True),
        sa.Column('disabled_at', shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('failing_since', shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('owner_token_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('webhook_endpoints') as batch:
        batch.create_index(batch.f('ix_webhook_endpoints_owner_token_id'), ['owner_token_id'],
                           unique=False)
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('endpoint_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('last_status_code', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_deliveries_endpoint_id'), ['endpoint_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_index(batch.f('ix_deliveries_endpoint_id'))
        batch.drop_column('last_status_code')
        batch.drop_column('endpoint_id')
    op.drop_table('webhook_endpoints')
