"""How the rota is shown: one duty as a line, and the rota as a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.discord_ids import mention_user, timestamp
from bot.domain.states import DutyStatus

ROLE_WORDS = {"lead": "lead", "co": "co-facilitator"}


@dataclass(frozen=True)
class Duty:
    """One duty as the cogs show it."""

    assignment_id: int
    occurrence_id: int
    title: str
    starts_at: datetime
    role: str
    user_id: int | None
    status: DutyStatus

    def line(self) -> str:
        """Return the duty as one line with a Discord timestamp."""
        who = mention_user(self.user_id) if self.user_id else "**cover needed**"
        state = " ✓" if self.status == DutyStatus.CONFIRMED else ""
        return f"{timestamp(self.starts_at)} · {self.title} · {ROLE_WORDS.get(self.role, self.role)}: {who}{state}"


@dataclass(frozen=True)
class PlanSummary:
    """What `/rota generate` did."""

    duties: int
    shortfalls: list[str]


def rota_post(duties: list[Duty], heading: str) -> str:
    """Return the rota as a message for the facilitators' channel."""
    if not duties:
        return f"**{heading}**\nNo duties planned yet."
    return f"**{heading}**\n" + "\n".join(duty.line() for duty in duties)
