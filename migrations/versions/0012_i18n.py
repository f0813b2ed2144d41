"""i18n: notifications keep their sentence's template and params, to be shown in each reader's language

Revision ID: 0012_i18n
Revises: 0011_minors
Create Date: 2026-11-26 04:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_i18n'
down_revision = '0011_minors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('message')
