"""Add how far a member opted out (unlinked or not counted) and how reports name a group (label, server name).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every opt-out made so far kept the member in the headcount: "unlinked".
    with op.batch_alter_table("participation_optout", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=10), server_default="unlinked", nullable=False))
    with op.batch_alter_table("participation_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_label", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("guild_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participation_settings", schema=None) as batch_op:
        batch_op.drop_column("guild_name")
        batch_op.drop_column("group_label")
    # Members who chose not to be counted at all fall back to the nearest choice the old schema knows: unlinked.
    with op.batch_alter_table("participation_optout", schema=None) as batch_op:
        batch_op.drop_column("mode")
