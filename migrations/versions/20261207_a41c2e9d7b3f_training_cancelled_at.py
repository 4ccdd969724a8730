"""training cancelled_at: the status is derived from it and the meeting's runs that are the training

Revision ID: a41c2e9d7b3f
Revises: 69aaaee117b0
Create Date: 2026-12-07 02:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = 'a41c2e9d7b3f'
down_revision = '69aaaee117b0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    # When a training already cancelled was cancelled is not known: the moment of the upgrade stands for it.
    op.execute("UPDATE trainings SET cancelled_at = CURRENT_TIMESTAMP WHERE status = 'cancelled'")


def downgrade() -> None:
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')
