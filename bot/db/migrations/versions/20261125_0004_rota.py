"""Add the facilitator rota: roster, time away, duties, settings and celebrated milestones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:59:07.456361
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rota_away",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_away")),
    )
    with op.batch_alter_table("rota_away", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rota_away_guild_id"), ["guild_id"], unique=False)

    op.create_table(
        "rota_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("roles", sa.String(length=30), nullable=False),
        sa.Column("trained_since", sa.Date(), nullable=False),
        sa.Column("max_per_month", sa.Integer(), nullable=True),
        sa.Column("preferred_series", sa.String(length=200), nullable=False),
        sa.Column("named_in_thanks", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_member")),
        sa.UniqueConstraint("guild_id", "user_id", name="uq_rota_member_guild_user"),
    )
    with op.batch_alter_table("rota_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rota_member_guild_id"), ["guild_id"], unique=False)

    op.create_table(
        "rota_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("celebrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_milestone")),
        sa.UniqueConstraint("guild_id", "key", name="uq_rota_milestone_guild_key"),
    )
    with op.batch_alter_table("rota_milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rota_milestone_guild_id"), ["guild_id"], unique=False)

    op.create_table(
        "rota_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("confirm_hours_before", sa.Integer(), nullable=False),
        sa.Column("escalate_hours_before", sa.Integer(), nullable=False),
        sa.Column("max_consecutive", sa.Integer(), nullable=False),
        sa.Column("last_weekly_post", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_rota_settings")),
    )
    op.create_table(
        "rota_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=4), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("released_by", sa.BigInteger(), nullable=True),
        sa.Column("confirm_sent", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("cover_message_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["meeting_occurrence.id"],
            name=op.f("fk_rota_assignment_occurrence_id_meeting_occurrence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_assignment")),
        sa.UniqueConstraint("occurrence_id", "role", name="uq_rota_assignment_occurrence_role"),
    )
    with op.batch_alter_table("rota_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rota_assignment_guild_id"), ["guild_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rota_assignment_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rota_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rota_assignment_status"))
        batch_op.drop_index(batch_op.f("ix_rota_assignment_guild_id"))

    op.drop_table("rota_assignment")
    op.drop_table("rota_settings")
    with op.batch_alter_table("rota_milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rota_milestone_guild_id"))

    op.drop_table("rota_milestone")
    with op.batch_alter_table("rota_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rota_member_guild_id"))

    op.drop_table("rota_member")
    with op.batch_alter_table("rota_away", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rota_away_guild_id"))

    op.drop_table("rota_away")
