"""initiate and completion: an academy's creation mode, a training's initiation and completion rule

Revision ID: 95267085ddb4
Revises: 36bf19d7ff56
Create Date: 2026-12-01 10:43:05.824962
"""

from alembic import op
import sqlalchemy as sa


revision = '95267085ddb4'
down_revision = '36bf19d7ff56'
branch_labels = None
depends_on = None

# SQLite rebuilds the table to add a CHECK; reflecting the tables its keys point at would meet users'
# expression index, which SQLAlchemy cannot reflect.
NO_FK_REFLECTION = {'resolve_fks': False}


def upgrade() -> None:
    with op.batch_alter_table('academies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('create_zoom_meetings', sa.String(length=16), server_default='on_save', nullable=False))
        batch_op.create_check_constraint('create_zoom_meetings', "create_zoom_meetings IN ('on_save', 'on_initiate')")

    with op.batch_alter_table('trainings', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.add_column(sa.Column('min_attendance_percent', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('initiated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint('min_attendance_percent', 'min_attendance_percent BETWEEN 1 AND 100')


def downgrade() -> None:
    with op.batch_alter_table('trainings', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(op.f('ck_trainings_min_attendance_percent'), type_='check')
        batch_op.drop_column('initiated_at')
        batch_op.drop_column('min_attendance_percent')

    with op.batch_alter_table('academies', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_academies_create_zoom_meetings'), type_='check')
        batch_op.drop_column('create_zoom_meetings')

