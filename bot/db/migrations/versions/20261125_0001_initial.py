"""Create the guild configuration and app state tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 18:15:36.375658
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_state",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_state")),
    )
    op.create_table(
        "guild_config",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("meetings_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("facilitators_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("coordinators_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("facilitator_role_id", sa.BigInteger(), nullable=True),
        sa.Column("coordinator_role_id", sa.BigInteger(), nullable=True),
        sa.Column("reminder_role_id", sa.BigInteger(), nullable=True),
        sa.Column("crisis_text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_config")),
    )


def downgrade() -> None:
    op.drop_table("guild_config")
    op.drop_table("app_state")
