"""sync log: what we pushed to Zoom, and every change of a two-way field

Revision ID: 6755403cb416
Revises: 658243ec703a
Create Date: 2026-12-01 08:21:09.169781
"""

from alembic import op
import sqlalchemy as sa


revision = '6755403cb416'
down_revision = '658243ec703a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('field_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('stamp_ms', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_field_changes_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_changes'))
    )
    with op.batch_alter_table('field_changes', schema=None) as batch_op:
        batch_op.create_index('ix_field_changes_training_field', ['training_id', 'field'], unique=False)

    op.create_table('zoom_pushes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('training_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('previous', sa.JSON(), nullable=False),
    sa.Column('origins', sa.JSON(), nullable=False),
    sa.Column('sent_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_zoom_pushes_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoom_pushes'))
    )
    with op.batch_alter_table('zoom_pushes', schema=None) as batch_op:
        batch_op.create_index('ix_zoom_pushes_training_sent', ['training_id', 'sent_ms'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('zoom_pushes', schema=None) as batch_op:
        batch_op.drop_index('ix_zoom_pushes_training_sent')

    op.drop_table('zoom_pushes')
    with op.batch_alter_table('field_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_field_changes_training_field')

    op.drop_table('field_changes')
