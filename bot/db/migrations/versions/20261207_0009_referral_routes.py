"""Referral routes (agency invite links) and their monthly join counts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_route",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uses_seen", sa.Integer(), nullable=False),
        sa.Column("uses_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invite_missing", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_route")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_referral_route_guild_id"), "referral_route", ["guild_id"], unique=False)
    op.create_table(
        "referral_count",
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("joins", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["referral_route.id"],
            name=op.f("fk_referral_count_route_id_referral_route"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("route_id", "month", name=op.f("pk_referral_count")),
    )
    op.create_table(
        "referral_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("welcome_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("welcome_text", sa.Text(), nullable=True),
        sa.Column("welcome_message_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("welcome_message_id", sa.BigInteger(), nullable=True),
        sa.Column("note_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("count_problem", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_referral_settings")),
    )


def downgrade() -> None:
    op.drop_table("referral_settings")
    op.drop_table("referral_count")
    op.drop_index(op.f("ix_referral_route_guild_id"), table_name="referral_route")
    op.drop_table("referral_route")
