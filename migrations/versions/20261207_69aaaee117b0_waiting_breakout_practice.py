"""attendance as Zoom counts it: waiting-room and breakout-room facts, phone binds, practice runs, report row status

Revision ID: 69aaaee117b0
Revises: 6d6113821d73
Create Date: 2026-12-07 01:02:32.894465
"""

from alembic import op
import sqlalchemy as sa


revision = "69aaaee117b0"
down_revision = "6d6113821d73"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_seconds", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("waiting_intervals", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("room_intervals", sa.JSON(), server_default="[]", nullable=False))

    with op.batch_alter_table("meeting_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("practice", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("participant_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("room_uuid", sa.String(length=128), server_default="", nullable=False))
        batch_op.add_column(sa.Column("link_session_id", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("link_participant_uuid", sa.String(length=128), server_default="", nullable=False)
        )
        batch_op.alter_column(
            "kind", existing_type=sa.VARCHAR(length=8), type_=sa.String(length=16), existing_nullable=False
        )

    with op.batch_alter_table("report_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=32), server_default="in_meeting", nullable=False))
        batch_op.add_column(sa.Column("bo_mtg_id", sa.String(length=128), server_default="", nullable=False))
        batch_op.add_column(sa.Column("failover", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("report_rows", schema=None) as batch_op:
        batch_op.drop_column("failover")
        batch_op.drop_column("bo_mtg_id")
        batch_op.drop_column("status")

    with op.batch_alter_table("participant_events", schema=None) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=sa.String(length=16), type_=sa.VARCHAR(length=8), existing_nullable=False
        )
        batch_op.drop_column("link_participant_uuid")
        batch_op.drop_column("link_session_id")
        batch_op.drop_column("room_uuid")

    with op.batch_alter_table("meeting_instances", schema=None) as batch_op:
        batch_op.drop_column("practice")

    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_column("room_intervals")
        batch_op.drop_column("waiting_intervals")
        batch_op.drop_column("waiting_seconds")
