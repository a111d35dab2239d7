"""Add participation: per-meeting numbers, attendance marks, the running tally, opt-outs and settings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:52:08.439731
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "participation_occurrence",
        sa.Column("occurrence_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("local_week", sa.String(length=8), nullable=False),
        sa.Column("local_month", sa.String(length=7), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("missed_reason", sa.String(length=20), nullable=True),
        sa.Column("scheduled_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phases_reached", sa.Integer(), nullable=False),
        sa.Column("phases_total", sa.Integer(), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("new_attendees", sa.Integer(), nullable=False),
        sa.Column("returning_attendees", sa.Integer(), nullable=False),
        sa.Column("unlinked_attendees", sa.Integer(), nullable=False),
        sa.Column("checkins", sa.Integer(), nullable=False),
        sa.Column("voice_attendees", sa.Integer(), nullable=False),
        sa.Column("posters", sa.Integer(), nullable=False),
        sa.Column("facilitators", sa.Integer(), nullable=False),
        sa.Column("feedback_answers", sa.Integer(), nullable=False),
        sa.Column("fb_helpful_1", sa.Integer(), nullable=False),
        sa.Column("fb_helpful_2", sa.Integer(), nullable=False),
        sa.Column("fb_helpful_3", sa.Integer(), nullable=False),
        sa.Column("fb_helpful_4", sa.Integer(), nullable=False),
        sa.Column("fb_helpful_5", sa.Integer(), nullable=False),
        sa.Column("fb_plan_yes", sa.Integer(), nullable=False),
        sa.Column("fb_plan_no", sa.Integer(), nullable=False),
        sa.Column("fb_heard_treatment", sa.Integer(), nullable=False),
        sa.Column("fb_heard_health", sa.Integer(), nullable=False),
        sa.Column("fb_heard_web", sa.Integer(), nullable=False),
        sa.Column("fb_heard_friend", sa.Integer(), nullable=False),
        sa.Column("fb_heard_justice", sa.Integer(), nullable=False),
        sa.Column("fb_heard_mutual_aid", sa.Integer(), nullable=False),
        sa.Column("fb_heard_other", sa.Integer(), nullable=False),
        sa.Column("fb_again_yes", sa.Integer(), nullable=False),
        sa.Column("fb_again_no", sa.Integer(), nullable=False),
        sa.Column("fb_again_maybe", sa.Integer(), nullable=False),
        sa.Column("feedback_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("occurrence_id", name=op.f("pk_participation_occurrence")),
    )
    with op.batch_alter_table("participation_occurrence", schema=None) as batch_op:
        batch_op.create_index("ix_participation_occurrence_guild_date", ["guild_id", "local_date"], unique=False)
        batch_op.create_index("ix_participation_occurrence_local_date", ["local_date"], unique=False)

    op.create_table(
        "participation_office",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("last_digest_month", sa.String(length=7), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_participation_office")),
    )
    op.create_table(
        "participation_optout",
        sa.Column("member_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("member_hash", name=op.f("pk_participation_optout")),
    )
    op.create_table(
        "participation_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("min_voice_minutes", sa.Integer(), server_default="10", nullable=False),
        sa.Column("period_months", sa.Integer(), server_default="12", nullable=False),
        sa.Column("period_anchor_month", sa.Integer(), server_default="1", nullable=False),
        sa.Column("retention_months", sa.Integer(), server_default="13", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_participation_settings")),
    )
    op.create_table(
        "participation_feedback_given",
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=66), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["participation_occurrence.occurrence_id"],
            name=op.f("fk_participation_feedback_given_occurrence_id_participation_occurrence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occurrence_id", "token", name=op.f("pk_participation_feedback_given")),
    )
    op.create_table(
        "participation_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["participation_occurrence.occurrence_id"],
            name=op.f("fk_participation_mark_occurrence_id_participation_occurrence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_mark")),
        sa.UniqueConstraint("occurrence_id", "pseudonym", name="uq_participation_mark_occurrence_pseudonym"),
    )
    with op.batch_alter_table("participation_mark", schema=None) as batch_op:
        batch_op.create_index("ix_participation_mark_lookup", ["guild_id", "period", "pseudonym"], unique=False)
        batch_op.create_index(batch_op.f("ix_participation_mark_occurrence_id"), ["occurrence_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_participation_mark_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "participation_live",
        sa.Column("occurrence_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["meeting_occurrence.id"],
            name=op.f("fk_participation_live_occurrence_id_meeting_occurrence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("occurrence_id", name=op.f("pk_participation_live")),
    )
    with op.batch_alter_table("participation_live", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_live_guild_id"), ["guild_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("participation_live", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_live_guild_id"))

    op.drop_table("participation_live")
    with op.batch_alter_table("participation_mark", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_mark_starts_at"))
        batch_op.drop_index(batch_op.f("ix_participation_mark_occurrence_id"))
        batch_op.drop_index("ix_participation_mark_lookup")

    op.drop_table("participation_mark")
    op.drop_table("participation_feedback_given")
    op.drop_table("participation_settings")
    op.drop_table("participation_optout")
    op.drop_table("participation_office")
    with op.batch_alter_table("participation_occurrence", schema=None) as batch_op:
        batch_op.drop_index("ix_participation_occurrence_local_date")
        batch_op.drop_index("ix_participation_occurrence_guild_date")

    op.drop_table("participation_occurrence")
