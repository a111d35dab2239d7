"""Group milestones celebrated, facilitator debriefs counted, load suggestions sent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("celebrate_milestones", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_care_settings")),
    )
    op.create_table(
        "group_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("celebrated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_milestone")),
        sa.UniqueConstraint("guild_id", "key", name="uq_group_milestone_guild_key"),
    )
    with op.batch_alter_table("group_milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_milestone_guild_id"), ["guild_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_milestone_reached_at"), ["reached_at"], unique=False)
    op.create_table(
        "facilitator_debrief",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("facilitator_id", sa.BigInteger(), nullable=True),
        sa.Column("forget_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilitator_debrief")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("facilitator_debrief", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facilitator_debrief_guild_id"), ["guild_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_facilitator_debrief_month"), ["month"], unique=False)
        batch_op.create_index(batch_op.f("ix_facilitator_debrief_forget_at"), ["forget_at"], unique=False)
    op.create_table(
        "load_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_suggestion")),
        sa.UniqueConstraint("guild_id", "user_id", name="uq_load_suggestion_guild_user"),
    )
    with op.batch_alter_table("load_suggestion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_load_suggestion_guild_id"), ["guild_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("load_suggestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_load_suggestion_guild_id"))
    op.drop_table("load_suggestion")
    with op.batch_alter_table("facilitator_debrief", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facilitator_debrief_forget_at"))
        batch_op.drop_index(batch_op.f("ix_facilitator_debrief_month"))
        batch_op.drop_index(batch_op.f("ix_facilitator_debrief_guild_id"))
    op.drop_table("facilitator_debrief")
    with op.batch_alter_table("group_milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_milestone_reached_at"))
        batch_op.drop_index(batch_op.f("ix_group_milestone_guild_id"))
    op.drop_table("group_milestone")
    op.drop_table("care_settings")
