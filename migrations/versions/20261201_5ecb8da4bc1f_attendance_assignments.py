"""attendance assignments: guests an admin said were LMS users

Revision ID: 5ecb8da4bc1f
Revises: af3b4c5b6e80
Create Date: 2026-12-01 09:18:47.120681
"""

from alembic import op
import sqlalchemy as sa


revision = '5ecb8da4bc1f'
down_revision = 'af3b4c5b6e80'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attendance_assignments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_key', sa.String(length=400), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_attendance_assignments_training_id_trainings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attendance_assignments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_assignments')),
    sa.UniqueConstraint('training_id', 'identity_key', name='uq_attendance_assignments_training_key')
    )
    with op.batch_alter_table('attendance_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_assignments_training_id'), ['training_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attendance_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_assignments_training_id'))

    op.drop_table('attendance_assignments')
