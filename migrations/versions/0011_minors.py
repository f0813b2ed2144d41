"""minors and the move to adult care; my data: birth month, closed accounts, transition notices

Revision ID: 0011_minors
Revises: 0010_health
"""
from alembic import op
import sqlalchemy as sa
import network.db


revision = '0011_minors'
down_revision = '0010_health'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transition_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('adult_on', sa.Date(), nullable=False),
    sa.Column('sent_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_transition_notices_patient_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transition_notices')),
    sa.UniqueConstraint('patient_id', 'kind', 'adult_on', name=op.f('uq_transition_notices_patient_id'))
    )
    with op.batch_alter_table('transition_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transition_notices_patient_id'), ['patient_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_month', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', network.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('birth_month')

    with op.batch_alter_table('transition_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transition_notices_patient_id'))

    op.drop_table('transition_notices')
