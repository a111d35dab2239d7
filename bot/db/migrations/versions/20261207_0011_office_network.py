"""Office announcements and their deliveries, the resources library, the facilitators' network and pairings.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "office_announcement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_guild_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_data", sa.LargeBinary(), nullable=True),
        sa.Column("report_channel_id", sa.BigInteger(), nullable=False),
        sa.Column("report_message_id", sa.BigInteger(), nullable=True),
        sa.Column("report_queued", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_announcement")),
    )
    op.create_table(
        "office_announcement_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("channel_kind", sa.String(length=20), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["office_announcement.id"],
            name=op.f("fk_office_announcement_target_announcement_id_office_announcement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_announcement_target")),
        sa.UniqueConstraint("announcement_id", "guild_id", "channel_kind", name="uq_office_announcement_target"),
    )
    with op.batch_alter_table("office_announcement_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_office_announcement_target_announcement_id"), ["announcement_id"], unique=False
        )
    op.create_table(
        "office_group_prefs",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("announcements_to_facilitators", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_office_group_prefs")),
    )
    op.create_table(
        "office_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_data", sa.LargeBinary(), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("tags", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_resource")),
    )
    op.create_table(
        "office_network",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_network")),
    )
    op.create_table(
        "office_network_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_network_question")),
    )
    with op.batch_alter_table("office_network_question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_network_question_guild_id"), ["guild_id"], unique=False)
    op.create_table(
        "office_pairing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("new_guild_id", sa.BigInteger(), nullable=False),
        sa.Column("new_group_name", sa.String(length=100), nullable=False),
        sa.Column("experienced_guild_id", sa.BigInteger(), nullable=False),
        sa.Column("experienced_group_name", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_pairing")),
    )
    with op.batch_alter_table("office_pairing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_pairing_new_guild_id"), ["new_guild_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_office_pairing_experienced_guild_id"), ["experienced_guild_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("office_pairing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_pairing_experienced_guild_id"))
        batch_op.drop_index(batch_op.f("ix_office_pairing_new_guild_id"))
    op.drop_table("office_pairing")
    with op.batch_alter_table("office_network_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_network_question_guild_id"))
    op.drop_table("office_network_question")
    op.drop_table("office_network")
    op.drop_table("office_resource")
    op.drop_table("office_group_prefs")
    with op.batch_alter_table("office_announcement_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_announcement_target_announcement_id"))
    op.drop_table("office_announcement_target")
    op.drop_table("office_announcement")
