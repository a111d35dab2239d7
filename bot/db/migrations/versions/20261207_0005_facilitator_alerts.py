"""Add facilitator alerts (that an alert happened, who took it, when it escalates) and the escalation wait.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 03:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "facilitator_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("source_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("taken_by", sa.BigInteger(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("facilitators_message_id", sa.BigInteger(), nullable=True),
        sa.Column("coordinators_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["meeting_occurrence.id"],
            name=op.f("fk_facilitator_alert_occurrence_id_meeting_occurrence"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilitator_alert")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("facilitator_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facilitator_alert_guild_id"), ["guild_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_facilitator_alert_state"), ["state"], unique=False)

    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_escalation_minutes", sa.Integer(), server_default="5", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.drop_column("alert_escalation_minutes")

    with op.batch_alter_table("facilitator_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facilitator_alert_state"))
        batch_op.drop_index(batch_op.f("ix_facilitator_alert_guild_id"))

    op.drop_table("facilitator_alert")
