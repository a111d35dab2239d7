"""Kinder defaults: pass the hat off unless a group chooses it, and a reminder before a duty is escalated.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.alter_column(
            "pass_the_hat_enabled", existing_type=sa.Boolean(), existing_nullable=False, server_default="0"
        )
    # Coordinators had no way to switch pass the hat until now, so "on" was never their choice; a group that wrote
    # its own hat text did choose it and keeps it.
    guild_config = sa.table(
        "guild_config",
        sa.column("guild_id", sa.BigInteger()),
        sa.column("pass_the_hat_enabled", sa.Boolean()),
        sa.column("pass_the_hat_text", sa.Text()),
    )
    occurrence = sa.table("meeting_occurrence", sa.column("guild_id", sa.BigInteger()), sa.column("state", sa.String()))
    # A meeting running across the upgrade works out its phases from this setting: switching it under the meeting
    # would shift them (as `/setup pass-the-hat` refuses to), so such a group keeps it until a coordinator changes it.
    running = sa.select(occurrence.c.guild_id).where(occurrence.c.state == "running")
    op.execute(
        guild_config.update()
        .where(guild_config.c.pass_the_hat_text.is_(None), guild_config.c.guild_id.not_in(running))
        .values(pass_the_hat_enabled=sa.false())
    )

    with op.batch_alter_table("rota_assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_sent", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("rota_assignment", schema=None) as batch_op:
        batch_op.drop_column("reminder_sent")

    # Only the default goes back: a group's choice, made since, is kept.
    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.alter_column(
            "pass_the_hat_enabled", existing_type=sa.Boolean(), existing_nullable=False, server_default="1"
        )
