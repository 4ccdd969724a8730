"""initial schema

Revision ID: dddb462d435b
Revises: 
Create Date: 2026-11-23 10:43:12.540380
"""

from alembic import op
import sqlalchemy as sa


revision = 'dddb462d435b'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('academies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academies'))
    )
    op.create_table('inbox_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=128), nullable=False),
    sa.Column('event_ts', sa.BigInteger(), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('meeting_id', sa.BigInteger(), nullable=True),
    sa.Column('meeting_uuid', sa.String(length=128), nullable=True),
    sa.Column('participant_uuid', sa.String(length=128), nullable=True),
    sa.Column('raw_body', sa.LargeBinary(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_inbox_events_dedupe_key'))
    )
    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_events_event_type'), ['event_type'], unique=False)
        batch_op.create_index('ix_inbox_events_meeting_status', ['meeting_id', 'status'], unique=False)
        batch_op.create_index('ix_inbox_events_status_received', ['status', 'received_at'], unique=False)

    op.create_table('meeting_instances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('meeting_id', sa.BigInteger(), nullable=False),
    sa.Column('uuid', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_instances')),
    sa.UniqueConstraint('uuid', name=op.f('uq_meeting_instances_uuid'))
    )
    with op.batch_alter_table('meeting_instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_instances_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('participant_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fact_key', sa.String(length=64), nullable=False),
    sa.Column('meeting_id', sa.BigInteger(), nullable=False),
    sa.Column('meeting_uuid', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('participant_uuid', sa.String(length=128), nullable=False),
    sa.Column('participant_user_id', sa.String(length=64), nullable=False),
    sa.Column('registrant_id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_events')),
    sa.UniqueConstraint('fact_key', name=op.f('uq_participant_events_fact_key'))
    )
    with op.batch_alter_table('participant_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participant_events_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('zoom_user_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('zoom_user_id', name=op.f('uq_users_zoom_user_id'))
    )
    # Case-insensitive unique email.
    op.create_index('uq_users_email_lower', 'users', [sa.text('lower(email)')], unique=True)
    op.create_table('trainings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('academy_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('theme', sa.String(length=255), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('meeting_type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('organizer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('max_participants', sa.Integer(), nullable=True),
    sa.Column('zoom_meeting_id', sa.BigInteger(), nullable=True),
    sa.Column('zoom_uuid', sa.String(length=128), nullable=True),
    sa.Column('sync_issue', sa.Text(), nullable=True),
    sa.Column('actual_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actual_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('field_stamps', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("meeting_type IN ('meeting', 'webinar')", name=op.f('ck_trainings_meeting_type')),
    sa.CheckConstraint("status IN ('not_started', 'started', 'completed', 'cancelled')", name=op.f('ck_trainings_status')),
    sa.CheckConstraint('duration > 0', name=op.f('ck_trainings_duration_positive')),
    sa.ForeignKeyConstraint(['academy_id'], ['academies.id'], name=op.f('fk_trainings_academy_id_academies')),
    sa.ForeignKeyConstraint(['organizer_id'], ['users.id'], name=op.f('fk_trainings_organizer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainings')),
    sa.UniqueConstraint('zoom_meeting_id', name=op.f('uq_trainings_zoom_meeting_id'))
    )
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainings_academy_id'), ['academy_id'], unique=False)

    op.create_table('attendance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('first_join_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_leave_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attended_seconds', sa.BigInteger(), nullable=False),
    sa.Column('intervals', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_attendance_training_id_trainings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attendance_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('training_id', 'identity_key', name='uq_attendance_training_identity')
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_training_id'), ['training_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_user_id'), ['user_id'], unique=False)

    op.create_table('registrants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('zoom_registrant_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_registrants_training_id_trainings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registrants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrants')),
    sa.UniqueConstraint('training_id', 'user_id', name='uq_registrants_training_user')
    )
    with op.batch_alter_table('registrants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrants_training_id'), ['training_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registrants_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registrants_zoom_registrant_id'), ['zoom_registrant_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('registrants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrants_zoom_registrant_id'))
        batch_op.drop_index(batch_op.f('ix_registrants_user_id'))
        batch_op.drop_index(batch_op.f('ix_registrants_training_id'))

    op.drop_table('registrants')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_user_id'))
        batch_op.drop_index(batch_op.f('ix_attendance_training_id'))

    op.drop_table('attendance')
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainings_academy_id'))

    op.drop_table('trainings')
    op.drop_index('uq_users_email_lower', table_name='users')
    op.drop_table('users')
    with op.batch_alter_table('participant_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participant_events_meeting_id'))

    op.drop_table('participant_events')
    with op.batch_alter_table('meeting_instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_instances_meeting_id'))

    op.drop_table('meeting_instances')
    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_events_status_received')
        batch_op.drop_index('ix_inbox_events_meeting_status')
        batch_op.drop_index(batch_op.f('ix_inbox_events_event_type'))

    op.drop_table('inbox_events')
    op.drop_table('academies')
    
