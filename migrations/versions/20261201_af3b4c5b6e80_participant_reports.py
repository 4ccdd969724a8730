"""participant reports: when to read them, and their rows as Zoom wrote them

Revision ID: af3b4c5b6e80
Revises: 6755403cb416
Create Date: 2026-12-01 08:26:48.104209
"""

from alembic import op
import sqlalchemy as sa


revision = 'af3b4c5b6e80'
down_revision = '6755403cb416'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_rows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('row_key', sa.String(length=64), nullable=False),
    sa.Column('meeting_id', sa.BigInteger(), nullable=False),
    sa.Column('meeting_uuid', sa.String(length=128), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('participant_user_id', sa.String(length=64), nullable=False),
    sa.Column('registrant_id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('join_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leave_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_rows')),
    sa.UniqueConstraint('row_key', name=op.f('uq_report_rows_row_key'))
    )
    with op.batch_alter_table('report_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_rows_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('report_pulls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('instances', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'done', 'failed', 'skipped')", name=op.f('ck_report_pulls_status')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_report_pulls_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_pulls')),
    sa.UniqueConstraint('training_id', name=op.f('uq_report_pulls_training_id'))
    )
    with op.batch_alter_table('report_pulls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_pulls_next_attempt_at'), ['next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_pulls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_pulls_next_attempt_at'))

    op.drop_table('report_pulls')
    with op.batch_alter_table('report_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_rows_meeting_id'))

    op.drop_table('report_rows')
