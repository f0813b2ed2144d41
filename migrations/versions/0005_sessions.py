"""learning sessions: agenda, registration, live rooms

Revision ID: 0005_sessions
Revises: 0004_stories
Create Date: 2026-11-26 01:20:42.577655
"""
from alembic import op
import sqlalchemy as sa
import network.db


revision = '0005_sessions'
down_revision = '0004_stories'
branch_labels = None
depends_on = None


# learning_sessions <-> agenda_modules reference each other: inline for SQLite, added afterwards for PostgreSQL.
_MODULE_FK_NAME = "fk_learning_sessions_current_module_id_agenda_modules"
_MODULE_FK = sa.ForeignKeyConstraint(["current_module_id"], ["agenda_modules.id"], name=_MODULE_FK_NAME, use_alter=True)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table('room_counters',
    sa.Column('room_key', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('room_key', name=op.f('pk_room_counters'))
    )
    op.create_table('learning_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('starts_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('video_url', sa.String(length=500), nullable=False),
    sa.Column('current_module_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_learning_sessions_created_by_id_users'), ondelete='SET NULL'),
    *([_MODULE_FK] if _sqlite() else []),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learning_sessions')),
    sa.UniqueConstraint('slug', name=op.f('uq_learning_sessions_slug'))
    )
    with op.batch_alter_table('learning_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learning_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('agenda_modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('resource_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_agenda_modules_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_modules'))
    )
    with op.batch_alter_table('agenda_modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_modules_session_id'), ['session_id'], unique=False)

    op.create_table('breakouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_breakouts_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breakouts'))
    )
    with op.batch_alter_table('breakouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_breakouts_session_id'), ['session_id'], unique=False)

    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_polls_opened_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_polls_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls'))
    )
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_polls_session_id'), ['session_id'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('acting_role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attended_at', network.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', network.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_registrations_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registrations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('session_id', 'user_id', name=op.f('uq_registrations_session_id'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registrations_user_id'), ['user_id'], unique=False)

    op.create_table('room_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('room_key', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('acting_role', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_room_events_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_room_events_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_events')),
    sa.UniqueConstraint('author_id', 'client_id', name=op.f('uq_room_events_author_id')),
    sa.UniqueConstraint('room_key', 'seq', name=op.f('uq_room_events_room_key'))
    )
    with op.batch_alter_table('room_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_events_session_id'), ['session_id'], unique=False)

    op.create_table('room_presence',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('room_key', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('acting_role', sa.String(length=20), nullable=False),
    sa.Column('joined_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_room_presence_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_room_presence_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_room_presence'))
    )
    with op.batch_alter_table('room_presence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_presence_session_id'), ['session_id'], unique=False)

    op.create_table('room_restrictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', network.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_room_restrictions_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_room_restrictions_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_room_restrictions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_restrictions')),
    sa.UniqueConstraint('session_id', 'user_id', name=op.f('uq_room_restrictions_session_id'))
    )
    with op.batch_alter_table('room_restrictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_room_restrictions_session_id'), ['session_id'], unique=False)

    op.create_table('session_facilitators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['learning_sessions.id'], name=op.f('fk_session_facilitators_session_id_learning_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_facilitators_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_facilitators')),
    sa.UniqueConstraint('session_id', 'user_id', name=op.f('uq_session_facilitators_session_id'))
    )
    with op.batch_alter_table('session_facilitators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_facilitators_session_id'), ['session_id'], unique=False)

    op.create_table('module_presenters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('acting_role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['agenda_modules.id'], name=op.f('fk_module_presenters_module_id_agenda_modules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_module_presenters_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_module_presenters')),
    sa.UniqueConstraint('module_id', 'user_id', name=op.f('uq_module_presenters_module_id'))
    )
    with op.batch_alter_table('module_presenters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_module_presenters_module_id'), ['module_id'], unique=False)

    op.create_table('poll_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('option', sa.Integer(), nullable=False),
    sa.Column('acting_role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_votes_poll_id_polls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_poll_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_votes')),
    sa.UniqueConstraint('poll_id', 'user_id', name=op.f('uq_poll_votes_poll_id'))
    )
    with op.batch_alter_table('poll_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_votes_poll_id'), ['poll_id'], unique=False)

    op.create_table('question_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['room_events.id'], name=op.f('fk_question_votes_question_id_room_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_question_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_votes')),
    sa.UniqueConstraint('question_id', 'user_id', name=op.f('uq_question_votes_question_id'))
    )
    with op.batch_alter_table('question_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_votes_question_id'), ['question_id'], unique=False)

    if not _sqlite():
        op.create_foreign_key(_MODULE_FK_NAME, "learning_sessions", "agenda_modules", ["current_module_id"], ["id"])


def downgrade() -> None:
    if not _sqlite():
        op.drop_constraint(_MODULE_FK_NAME, "learning_sessions", type_="foreignkey")
    with op.batch_alter_table('question_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_votes_question_id'))

    op.drop_table('question_votes')
    with op.batch_alter_table('poll_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_votes_poll_id'))

    op.drop_table('poll_votes')
    with op.batch_alter_table('module_presenters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_module_presenters_module_id'))

    op.drop_table('module_presenters')
    with op.batch_alter_table('session_facilitators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_facilitators_session_id'))

    op.drop_table('session_facilitators')
    with op.batch_alter_table('room_restrictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_restrictions_session_id'))

    op.drop_table('room_restrictions')
    with op.batch_alter_table('room_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_presence_session_id'))

    op.drop_table('room_presence')
    with op.batch_alter_table('room_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_events_session_id'))

    op.drop_table('room_events')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_user_id'))
        batch_op.drop_index(batch_op.f('ix_registrations_session_id'))

    op.drop_table('registrations')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_polls_session_id'))

    op.drop_table('polls')
    with op.batch_alter_table('breakouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breakouts_session_id'))

    op.drop_table('breakouts')
    with op.batch_alter_table('agenda_modules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_modules_session_id'))

    op.drop_table('agenda_modules')
    with op.batch_alter_table('learning_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_learning_sessions_starts_at'))

    op.drop_table('learning_sessions')
    op.drop_table('room_counters')
