"""zoom connections: how an academy acts in its Zoom account (tokens sealed)

Revision ID: 338166666cc2
Revises: dddb462d435b
Create Date: 2026-12-01 08:01:43.849583
"""

from alembic import op
import sqlalchemy as sa


revision = '338166666cc2'
down_revision = 'dddb462d435b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zoom_connections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('academy_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('zoom_user_id', sa.String(length=64), nullable=True),
    sa.Column('zoom_user_email', sa.String(length=320), nullable=True),
    sa.Column('client_id', sa.String(length=128), nullable=True),
    sa.Column('client_secret_sealed', sa.Text(), nullable=True),
    sa.Column('access_token_sealed', sa.Text(), nullable=True),
    sa.Column('refresh_token_sealed', sa.Text(), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('user_type', sa.Integer(), nullable=True),
    sa.Column('meeting_capacity', sa.Integer(), nullable=True),
    sa.Column('webinar_enabled', sa.Boolean(), nullable=False),
    sa.Column('webinar_capacity', sa.Integer(), nullable=True),
    sa.Column('rate_plan', sa.String(length=16), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disconnected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('oauth', 'server_to_server')", name=op.f('ck_zoom_connections_kind')),
    sa.CheckConstraint("status IN ('connected', 'error', 'disconnected')", name=op.f('ck_zoom_connections_status')),
    sa.ForeignKeyConstraint(['academy_id'], ['academies.id'], name=op.f('fk_zoom_connections_academy_id_academies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zoom_connections')),
    sa.UniqueConstraint('academy_id', name=op.f('uq_zoom_connections_academy_id'))
    )
    with op.batch_alter_table('zoom_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zoom_connections_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('zoom_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zoom_connections_account_id'))

    op.drop_table('zoom_connections')
