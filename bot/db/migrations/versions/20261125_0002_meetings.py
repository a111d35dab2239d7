"""Add meeting schedules, occurrences, reminders, the outbox and meeting settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:22:26.443696
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("dtstart_local", sa.String(length=19), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("template_slug", sa.String(length=40), nullable=False),
        sa.Column("location_kind", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_schedule")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("meeting_schedule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_schedule_guild_id"), ["guild_id"], unique=False)

    op.create_table(
        "meeting_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("local_start", sa.String(length=19), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("template_slug", sa.String(length=40), nullable=False),
        sa.Column("location_kind", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("tool_slug", sa.String(length=60), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("event_requested", sa.Boolean(), nullable=False),
        sa.Column("venue_id", sa.BigInteger(), nullable=True),
        sa.Column("panel_message_id", sa.BigInteger(), nullable=True),
        sa.Column("facilitator_id", sa.BigInteger(), nullable=True),
        sa.Column("phase_index", sa.Integer(), nullable=True),
        sa.Column("phase_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phase_paused_seconds", sa.Integer(), nullable=True),
        sa.Column("phase_nudged", sa.Boolean(), nullable=False),
        sa.Column("phase_timings", sa.Text(), nullable=False),
        sa.Column("actual_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_late", sa.Boolean(), nullable=False),
        sa.Column("no_facilitator_alerted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["meeting_schedule.id"],
            name=op.f("fk_meeting_occurrence_schedule_id_meeting_schedule"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_occurrence")),
        sa.UniqueConstraint("schedule_id", "local_start", name="uq_meeting_occurrence_schedule_local"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("meeting_occurrence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_occurrence_guild_id"), ["guild_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_occurrence_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_occurrence_state"), ["state"], unique=False)

    op.create_table(
        "meeting_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["meeting_occurrence.id"],
            name=op.f("fk_meeting_reminder_occurrence_id_meeting_occurrence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_reminder")),
        sa.UniqueConstraint("occurrence_id", "offset_minutes", name="uq_meeting_reminder_offset"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("meeting_reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_reminder_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_reminder_guild_id"), ["guild_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("occurrence_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("result_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["meeting_occurrence.id"],
            name=op.f("fk_outbox_occurrence_id_meeting_occurrence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_guild_id"), ["guild_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_state"), ["state"], unique=False)

    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pass_the_hat_enabled", sa.Boolean(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("pass_the_hat_text", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("reminder_offsets", sa.String(length=100), server_default="1440,15", nullable=False)
        )
        batch_op.add_column(sa.Column("late_start_grace_minutes", sa.Integer(), server_default="15", nullable=False))
        batch_op.add_column(sa.Column("events_ahead", sa.Integer(), server_default="4", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.drop_column("events_ahead")
        batch_op.drop_column("late_start_grace_minutes")
        batch_op.drop_column("reminder_offsets")
        batch_op.drop_column("pass_the_hat_text")
        batch_op.drop_column("pass_the_hat_enabled")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_state"))
        batch_op.drop_index(batch_op.f("ix_outbox_guild_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("meeting_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_reminder_guild_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_reminder_due_at"))

    op.drop_table("meeting_reminder")
    with op.batch_alter_table("meeting_occurrence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_occurrence_state"))
        batch_op.drop_index(batch_op.f("ix_meeting_occurrence_starts_at"))
        batch_op.drop_index(batch_op.f("ix_meeting_occurrence_guild_id"))

    op.drop_table("meeting_occurrence")
    with op.batch_alter_table("meeting_schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_schedule_guild_id"))

    op.drop_table("meeting_schedule")
