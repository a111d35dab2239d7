"""The central office's server: where `/office report` works, the monthly digest, and groups' milestones.

The office server is set from the command line only (`python -m bot office set`), because whoever holds it reads
every group's figures. Figures shown there are always under disclosure control; milestones are facts about
meetings (the 50th meeting held), never about people.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import rowcount
from bot.db.models_participation import ParticipationOccurrence as P, ParticipationOffice
from bot.domain.disclosure import DisclosurePolicy
from bot.services.participation.export import ExportRequest
from bot.services.participation.report import Report, build_report

log = logging.getLogger(__name__)

MEETING_MILESTONES = (1, 10, 25, 50, 100, 150, 200, 250, 300, 400, 500, 750, 1000)
ATTENDANCE_MILESTONES = (100, 250, 500, 1000, 2500, 5000, 10000)
# A month with at least this many meetings, every one of them held, is worth a word of thanks.
FULL_MONTH_MIN_MEETINGS = 2


@dataclass(frozen=True, slots=True)
class OfficeConfig:
    """The central office's server, its digest channel and the role that may ask for reports."""

    guild_id: int
    channel_id: int
    role_id: int
    last_digest_month: str | None


@dataclass(frozen=True, slots=True)
class Celebration:
    """A group's success worth telling the central office about (facts about meetings, never about people)."""

    guild_id: int
    text: str


def previous_month(today: date) -> tuple[date, date]:
    """Return the first and last day of the month before `today`'s."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def ordinal(n: int) -> str:
    """Return 1st, 2nd, 3rd, 11th, 22nd..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class OfficeService:
    """Configuration of the office server, reports for it, and its monthly digest."""

    def __init__(self, database: Database, clock: Clock, reconcile: Callable[[date, date], Awaitable[int]]) -> None:
        self._db = database
        self._clock = clock
        self._reconcile = reconcile

    async def config(self) -> OfficeConfig | None:
        """Return the office server's settings, or None when no office server is set."""
        async with self._db.session() as session:
            row = await session.scalar(select(ParticipationOffice).limit(1))
            if row is None:
                return None
            return OfficeConfig(row.guild_id, row.channel_id, row.role_id, row.last_digest_month)

    async def configure(self, guild_id: int, channel_id: int, role_id: int) -> OfficeConfig:
        """Make `guild_id` the (only) office server, with its digest channel and central-office role."""
        async with self._db.session() as session:
            current = await session.scalar(select(ParticipationOffice).limit(1))
            last = current.last_digest_month if current is not None else None
            await session.execute(delete(ParticipationOffice))
            session.add(
                ParticipationOffice(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    role_id=role_id,
                    last_digest_month=last,
                    updated_at=self._clock.now(),
                )
            )
        log.info("The central office server is now guild %s.", guild_id)
        return OfficeConfig(guild_id, channel_id, role_id, last)

    async def clear(self) -> bool:
        """Forget the office server; return whether one was set."""
        async with self._db.session() as session:
            result = await session.execute(delete(ParticipationOffice))
            return bool(rowcount(result))

    async def report(self, start: date, end: date, out_dir: Path) -> Report:
        """Write the protected report for a date range into `out_dir`, after catching up on finished meetings."""
        await self._reconcile(start, end)
        request = ExportRequest(start, end, by="week", policy=DisclosurePolicy())
        return await build_report(self._db, request, out_dir, self._clock.now())

    async def claim_digest(self) -> tuple[date, date] | None:
        """Claim last month's digest (once, whichever process gets there first); return its first and last day."""
        first, last = previous_month(self._clock.now().date())
        label = first.isoformat()[:7]
        async with self._db.session() as session:
            result = await session.execute(
                update(ParticipationOffice)
                .where(
                    or_(
                        ParticipationOffice.last_digest_month.is_(None),
                        ParticipationOffice.last_digest_month < label,
                    )
                )
                .values(last_digest_month=label, updated_at=self._clock.now())
            )
            won = rowcount(result) == 1
        return (first, last) if won else None

    async def celebrations(self, start: date, end: date) -> list[Celebration]:
        """Return the milestones groups reached between `start` and `end` (meetings held, attendances, full months)."""
        held = func.sum(case((P.outcome == "held", 1), else_=0))
        before = P.local_date < start.isoformat()
        within = (P.local_date >= start.isoformat()) & (P.local_date <= end.isoformat())
        query = (
            select(
                P.guild_id,
                func.sum(case((before & (P.outcome == "held"), 1), else_=0)).label("held_before"),
                held.label("held_by_end"),
                func.sum(case((before, P.attendees), else_=0)).label("attended_before"),
                func.sum(P.attendees).label("attended_by_end"),
                func.sum(case((within, 1), else_=0)).label("meetings"),
                func.sum(case((within & (P.outcome == "held"), 1), else_=0)).label("held_in_range"),
            )
            .where(P.finalised_at.is_not(None), P.local_date <= end.isoformat())
            .group_by(P.guild_id)
            .order_by(P.guild_id)
        )
        found: list[Celebration] = []
        async with self._db.session() as session:
            for row in (await session.execute(query)).mappings():
                guild_id = int(row["guild_id"])
                for milestone in _crossed(MEETING_MILESTONES, row["held_before"], row["held_by_end"]):
                    what = "its first meeting" if milestone == 1 else f"its {ordinal(milestone)} meeting"
                    found.append(Celebration(guild_id, f"held {what}"))
                for milestone in _crossed(ATTENDANCE_MILESTONES, row["attended_before"], row["attended_by_end"]):
                    found.append(Celebration(guild_id, f"welcomed its {ordinal(milestone)} attendance"))
                meetings, held_now = int(row["meetings"] or 0), int(row["held_in_range"] or 0)
                if meetings >= FULL_MONTH_MIN_MEETINGS and held_now == meetings:
                    found.append(Celebration(guild_id, f"held every one of its {meetings} meetings"))
        return found

    def now(self) -> datetime:
        """Return the service clock's time (the cog's default report range is last month)."""
        return self._clock.now()


def _crossed(milestones: tuple[int, ...], before: Any, after: Any) -> list[int]:
    low, high = int(before or 0), int(after or 0)
    return [milestone for milestone in milestones if low < milestone <= high]
