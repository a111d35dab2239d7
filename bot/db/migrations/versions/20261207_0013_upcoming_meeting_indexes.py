"""Indexes for "scheduled meetings from now on" and "a meeting's duties in one state".

Without them SQLite answered both by walking history: the dashboard overview's "is each group's next meeting
confirmed?" read every confirmed duty ever held, once per group (10 s with a national year of duties), and, once
statistics exist (ANALYZE), "each group's next scheduled meeting" read every meeting ever held (16 ms). The index on
the state alone is dropped: the new one starts with the state, so it answers the same questions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_occurrence", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_occurrence_state_starts_at", ["state", "starts_at"], unique=False)
        batch_op.drop_index("ix_meeting_occurrence_state")
    with op.batch_alter_table("rota_assignment", schema=None) as batch_op:
        batch_op.create_index("ix_rota_assignment_occurrence_status", ["occurrence_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rota_assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_rota_assignment_occurrence_status")
    with op.batch_alter_table("meeting_occurrence", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_occurrence_state", ["state"], unique=False)
        batch_op.drop_index("ix_meeting_occurrence_state_starts_at")
