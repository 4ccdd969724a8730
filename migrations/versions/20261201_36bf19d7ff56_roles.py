"""roles: built-in role names on users, custom roles

Revision ID: 36bf19d7ff56
Revises: 5ecb8da4bc1f
Create Date: 2026-12-01 09:44:56.239628
"""

from alembic import op
import sqlalchemy as sa


revision = '36bf19d7ff56'
down_revision = '5ecb8da4bc1f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('name', name=op.f('uq_roles_name'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=64), server_default='learner', nullable=False))



def downgrade() -> None:
    # SQLite rebuilds the table to drop a column, and cannot carry an expression index across.
    op.drop_index('uq_users_email_lower', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('role')
    op.create_index('uq_users_email_lower', 'users', [sa.text('lower(email)')], unique=True)

    op.drop_table('roles')
