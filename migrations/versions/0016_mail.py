"""mail in the recipient's language: the outbox keeps each message's templates, params and locale
(rows from before this migration have none and go out in their stored English)

Revision ID: 0016_mail
Revises: 0015_live
Create Date: 2026-11-26 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_mail'
down_revision = '0015_live'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('localized', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('localized')
