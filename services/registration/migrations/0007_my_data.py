"""my data: the links people ask for to see their own data, and the ARCO requests on record

Revision ID: 3c9f5a17e2d8
Revises: 8c2f4e1a9b37
Create Date: 2026-12-04 19:20:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import shared.db

revision: str = '3c9f5a17e2d8'
down_revision: Union[str, Sequence[str], None] = '8c2f4e1a9b37'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('my_data_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_my_data_links')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('my_data_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_my_data_links_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_my_data_links_expires_at'), ['expires_at'],
                              unique=False)
    op.create_table('arco_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('right', sa.String(length=16), nullable=False),
    sa.Column('person', sa.String(length=64), nullable=False),
    sa.Column('received_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arco_requests')),
    sa.UniqueConstraint('request_id', name=op.f('uq_arco_requests_request_id'))
    )
    with op.batch_alter_table('arco_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arco_requests_person'), ['person'], unique=False)


def downgrade() -> None:
    op.drop_table('arco_requests')
    op.drop_table('my_data_links')
