"""safety: safeguarding flags, crisis guidance and risk phrases, safeguarding contacts; member connections, private threads, blocks

Revision ID: 0013_safety
Revises: 0012_i18n
Create Date: 2026-11-26 04:08:18.421767
"""
from alembic import op
import sqlalchemy as sa
import network.db


revision = '0013_safety'
down_revision = '0012_i18n'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ### safety: connections, threads, blocks, flags, settings; the safeguarding-contact capability ###
    op.create_table('connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('acting_role', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('needs_parent', sa.Boolean(), nullable=False),
    sa.Column('parent_decided_by_id', sa.Integer(), nullable=True),
    sa.Column('parent_decided_at', network.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', network.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', network.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['parent_decided_by_id'], ['users.id'], name=op.f('fk_connections_parent_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_connections_recipient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_connections_requester_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connections_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_connections_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_connections_status'), ['status'], unique=False)

    op.create_table('member_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blocker_id', sa.Integer(), nullable=False),
    sa.Column('blocked_id', sa.Integer(), nullable=False),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blocked_id'], ['users.id'], name=op.f('fk_member_blocks_blocked_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['blocker_id'], ['users.id'], name=op.f('fk_member_blocks_blocker_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_blocks')),
    sa.UniqueConstraint('blocker_id', 'blocked_id', name=op.f('uq_member_blocks_blocker_id'))
    )
    with op.batch_alter_table('member_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_blocks_blocked_id'), ['blocked_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_blocks_blocker_id'), ['blocker_id'], unique=False)

    op.create_table('safety_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('flagger_id', sa.Integer(), nullable=True),
    sa.Column('flagger_role', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('concern', sa.String(length=20), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('matched_phrase', sa.String(length=80), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', network.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_role', sa.String(length=20), nullable=False),
    sa.Column('actions', sa.Text(), nullable=False),
    sa.Column('resolved_at', network.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_safety_flags_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['flagger_id'], ['users.id'], name=op.f('fk_safety_flags_flagger_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_safety_flags_resolved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_flags'))
    )
    with op.batch_alter_table('safety_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_flags_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_safety_flags_flagger_id'), ['flagger_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_safety_flags_resolved_at'), ['resolved_at'], unique=False)

    op.create_table('safety_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crisis_guidance', sa.Text(), nullable=False),
    sa.Column('risk_phrases', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_safety_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_settings'))
    )
    op.create_table('contact_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('acting_role', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_contact_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_contact_messages_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_messages'))
    )
    with op.batch_alter_table('contact_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_messages_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_messages_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_messages_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safeguarding_contact', sa.Boolean(), server_default=sa.false(), nullable=False))

    # ### end Alembic commands ###


def downgrade() -> None:
    # ### safety: connections, threads, blocks, flags, settings; the safeguarding-contact capability ###
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('safeguarding_contact')

    with op.batch_alter_table('contact_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_messages_created_at'))
        batch_op.drop_index(batch_op.f('ix_contact_messages_connection_id'))
        batch_op.drop_index(batch_op.f('ix_contact_messages_author_id'))

    op.drop_table('contact_messages')
    op.drop_table('safety_settings')
    with op.batch_alter_table('safety_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_flags_resolved_at'))
        batch_op.drop_index(batch_op.f('ix_safety_flags_flagger_id'))
        batch_op.drop_index(batch_op.f('ix_safety_flags_created_at'))

    op.drop_table('safety_flags')
    with op.batch_alter_table('member_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_blocks_blocker_id'))
        batch_op.drop_index(batch_op.f('ix_member_blocks_blocked_id'))

    op.drop_table('member_blocks')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connections_status'))
        batch_op.drop_index(batch_op.f('ix_connections_requester_id'))
        batch_op.drop_index(batch_op.f('ix_connections_recipient_id'))

    op.drop_table('connections')
    # ### end Alembic commands ###
