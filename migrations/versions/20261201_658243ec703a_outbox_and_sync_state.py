"""outbox and sync state: LMS edits bound for Zoom, and what Zoom confirmed

Revision ID: 658243ec703a
Revises: 338166666cc2
Create Date: 2026-12-01 08:10:05.712366
"""

from alembic import op
import sqlalchemy as sa


revision = '658243ec703a'
down_revision = '338166666cc2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('registrant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('create', 'update', 'delete', 'register', 'unregister')", name=op.f('ck_outbox_kind')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'cancelled')", name=op.f('ck_outbox_status')),
    sa.ForeignKeyConstraint(['registrant_id'], ['registrants.id'], name=op.f('fk_outbox_registrant_id_registrants')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_outbox_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_training_status', ['training_id', 'status'], unique=False)

    with op.batch_alter_table('registrants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zoom_join_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('zoom_sync_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('zoom_sync_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zoom_sync_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('zoom_sync_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('zoom_join_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('zoom_host_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('zoom_confirmed', sa.JSON(), nullable=False, server_default='{}'))  # existing rows: nothing confirmed



def downgrade() -> None:
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_column('zoom_confirmed')
        batch_op.drop_column('zoom_host_id')
        batch_op.drop_column('zoom_join_url')
        batch_op.drop_column('zoom_sync_error')
        batch_op.drop_column('zoom_sync_state')

    with op.batch_alter_table('registrants', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
        batch_op.drop_column('zoom_sync_error')
        batch_op.drop_column('zoom_sync_state')
        batch_op.drop_column('zoom_join_url')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_training_status')
        batch_op.drop_index('ix_outbox_status_due')

    op.drop_table('outbox')
