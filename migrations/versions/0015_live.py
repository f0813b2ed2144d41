"""live rooms: presence rows name the server process holding the socket (stale rows of a crashed
process are removed by the others)

Revision ID: 0015_live
Revises: 0014_twostep
Create Date: 2026-11-26 04:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_live'
down_revision = '0014_twostep'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('room_presence', schema=None) as batch_op:
        # rows from before this migration belong to no live process: the first sweep removes them
        batch_op.add_column(sa.Column('server_id', sa.String(length=100), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_room_presence_server_id'), ['server_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('room_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_presence_server_id'))
        batch_op.drop_column('server_id')
