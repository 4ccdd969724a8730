"""inbox attempts: every failed try at applying an event, for the admin's event history

Revision ID: 6d6113821d73
Revises: 663cc9bf8c3e
Create Date: 2026-12-01 12:11:45.326878
"""

from alembic import op
import sqlalchemy as sa


revision = '6d6113821d73'
down_revision = '663cc9bf8c3e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox_events.id'], name=op.f('fk_inbox_attempts_inbox_id_inbox_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_attempts'))
    )
    with op.batch_alter_table('inbox_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_attempts_inbox_id'), ['inbox_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_attempts_inbox_id'))

    op.drop_table('inbox_attempts')
