"""notifications and host reassignment: the notifications table, the outbox's reassign kind, calendar revisions

Revision ID: 663cc9bf8c3e
Revises: 95267085ddb4
Create Date: 2026-12-01 10:59:31.637088
"""

from alembic import op
import sqlalchemy as sa


revision = '663cc9bf8c3e'
down_revision = '95267085ddb4'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('create', 'update', 'delete', 'register', 'unregister')"
NEW_KINDS = "kind IN ('create', 'update', 'delete', 'register', 'unregister', 'reassign')"
NO_FK_REFLECTION = {'resolve_fks': False}  # see 95267085ddb4: SQLite rebuilds the table for a new CHECK


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('assigned', 'unassigned', 'changed', 'cancelled')", name=op.f('ck_notifications_kind')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'kept')", name=op.f('ck_notifications_status')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_notifications_training_id_trainings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_training_id'), ['training_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_kind'), type_='check')
        batch_op.create_check_constraint('kind', NEW_KINDS)

    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('trainings', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.drop_column('revision')

    op.execute("DELETE FROM outbox WHERE kind = 'reassign'")
    with op.batch_alter_table('outbox', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_kind'), type_='check')
        batch_op.create_check_constraint('kind', OLD_KINDS)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_training_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_status'))

    op.drop_table('notifications')
