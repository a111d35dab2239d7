"""Office announcements: one message (and file) to every group's coordinators' channel, or to a chosen few.

Each channel an announcement goes to is a target row and one outbox item, so delivery is restart-safe and each
group gets it at most once (the item's nonce). The delivery handler records every outcome here, and each outcome
queues one refresh of the delivery report the office sees (refreshes coalesce: see `report_queued`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import rowcount
from bot.db.models import GuildConfig
from bot.db.models_office import OfficeAnnouncement, OfficeAnnouncementTarget, OfficeGroupPrefs
from bot.errors import InvalidInputError
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import AnnouncementPost, AnnouncementReport

log = logging.getLogger(__name__)

# Room for the heading within Discord's 2000 characters.
TEXT_MAX = 1800
# Discord lets bots upload 10 MiB in any server; the file sits in the database until delivery settles.
FILE_MAX_BYTES = 8 * 1024 * 1024
HEADING = "📣 **From the central office**"
PENDING, RETRYING, DELIVERED, FAILED = "pending", "retrying", "delivered", "failed"
SETTLED = (DELIVERED, FAILED)
COORDINATORS, FACILITATORS = "coordinators", "facilitators"
# Lines of the report before it sums up the rest (a message holds 2000 characters).
REPORT_LINES = 30


@dataclass(frozen=True, slots=True)
class Recipient:
    """A group an announcement can go to: its name and the channels it receives announcements in."""

    guild_id: int
    name: str
    coordinators_channel_id: int
    facilitators_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """One channel of one group an announcement goes to, and how its delivery went."""

    id: int
    announcement_id: int
    guild_id: int
    group_name: str
    channel_kind: str
    channel_id: int | None
    state: str
    reason: str | None
    message_id: int | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What the delivery of one target posts."""

    target: Target
    content: str
    file_name: str | None
    file_data: bytes | None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """An announcement's deliveries so far, per group, for the office."""

    announcement_id: int
    created_at: datetime
    text: str
    file_name: str | None
    channel_id: int
    message_id: int | None
    targets: tuple[Target, ...]

    def count(self, *states: str) -> int:
        """Return how many deliveries are in one of `states`."""
        return sum(1 for target in self.targets if target.state in states)

    @property
    def finished(self) -> bool:
        """Return whether every delivery has settled (delivered, or failed for good)."""
        return all(target.state in SETTLED for target in self.targets)


def _target(row: OfficeAnnouncementTarget) -> Target:
    return Target(
        row.id,
        row.announcement_id,
        row.guild_id,
        row.group_name,
        row.channel_kind,
        row.channel_id,
        row.state,
        row.reason,
        row.message_id,
    )


def announcement_content(text: str) -> str:
    """Return the message a group receives."""
    return f"{HEADING}\n{text}"


def report_text(report: DeliveryReport) -> str:
    """Return the delivery report as the office sees it: totals, then each group by name."""
    total = len(report.targets)
    waiting = report.count(PENDING, RETRYING)
    lines = [
        f"**Announcement {report.announcement_id}: delivery report**",
        f"Delivered {report.count(DELIVERED)} of {total} · failed {report.count(FAILED)} · still sending {waiting}",
    ]
    marks = {DELIVERED: "✅ delivered", FAILED: "❌ failed", PENDING: "⏳ sending", RETRYING: "🔁 retrying"}
    ordered = sorted(report.targets, key=lambda t: (t.state != FAILED, t.group_name.casefold(), t.channel_kind))
    for target in ordered[:REPORT_LINES]:
        where = "" if target.channel_kind == COORDINATORS else " (facilitators' channel)"
        why = f": {target.reason}" if target.reason and target.state != DELIVERED else ""
        lines.append(f"- {target.group_name}{where}: {marks.get(target.state, target.state)}{why}")
    if len(ordered) > REPORT_LINES:
        lines.append(f"- ... and {len(ordered) - REPORT_LINES} more (see the dashboard).")
    if report.finished:
        lines.append("Finished: every group has been tried; failed ones will not be retried.")
    return "\n".join(lines)[:2000]


class AnnouncementService:
    """Send the office's announcements to groups and keep their delivery report."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def recipients(self, names: Mapping[int, str], *, exclude: Iterable[int] = ()) -> list[Recipient]:
        """Return every set-up group (one with a coordinators' channel), named by `names`, sorted by name."""
        excluded = set(exclude)
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(
                        GuildConfig.guild_id, GuildConfig.coordinators_channel_id, GuildConfig.facilitators_channel_id
                    ).where(GuildConfig.coordinators_channel_id.is_not(None))
                )
            ).all()
            opted = set(
                (
                    await session.scalars(
                        select(OfficeGroupPrefs.guild_id).where(OfficeGroupPrefs.announcements_to_facilitators)
                    )
                ).all()
            )
        found = [
            Recipient(
                int(guild),
                names.get(int(guild), f"Group {guild}"),
                int(coordinators or 0),  # never None: filtered in the query
                int(facilitators) if facilitators is not None and guild in opted else None,
            )
            for guild, coordinators, facilitators in rows
            if int(guild) not in excluded
        ]
        return sorted(found, key=lambda r: (r.name.casefold(), r.guild_id))

    @staticmethod
    def choose(recipients: Sequence[Recipient], wanted: str | None) -> list[Recipient]:
        """Return the recipients named in a comma-separated list (all of them when it is blank)."""
        names = [part.strip() for part in (wanted or "").split(",") if part.strip()]
        if not names:
            return list(recipients)
        by_name = {recipient.name.casefold(): recipient for recipient in recipients}
        unknown = [name for name in names if name.casefold() not in by_name]
        if unknown:
            shown = ", ".join(repr(name[:60]) for name in unknown[:3]) + (" and more" if len(unknown) > 3 else "")
            raise InvalidInputError(
                f"No set-up group is called {shown}. "
                "Pick names from the suggestions, separated by commas, or leave `groups` empty for every group."
            )
        chosen = {by_name[name.casefold()].guild_id: by_name[name.casefold()] for name in names}
        return list(chosen.values())

    async def set_facilitators_copy(self, guild_id: int, enabled: bool) -> None:
        """Record whether a group also receives announcements in its facilitators' channel."""
        async with self._db.session() as session:
            row = await session.get(OfficeGroupPrefs, guild_id)
            if row is None:
                session.add(
                    OfficeGroupPrefs(
                        guild_id=guild_id, announcements_to_facilitators=enabled, updated_at=self._clock.now()
                    )
                )
            else:
                row.announcements_to_facilitators = enabled
                row.updated_at = self._clock.now()

    async def announce(
        self,
        office_guild_id: int,
        report_channel_id: int,
        text: str,
        recipients: Sequence[Recipient],
        *,
        file_name: str | None = None,
        file_data: bytes | None = None,
    ) -> int:
        """Record an announcement and queue one delivery per group channel and its report; return its id."""
        text = text.strip()
        if not text:
            raise InvalidInputError("The announcement is empty: write a message.")
        if len(text) > TEXT_MAX:
            raise InvalidInputError(f"The announcement is {len(text)} characters; at most {TEXT_MAX} fit.")
        if file_data is not None and len(file_data) > FILE_MAX_BYTES:
            raise InvalidInputError(f"The file is too large: at most {FILE_MAX_BYTES // (1024 * 1024)} MiB.")
        if not recipients:
            raise InvalidInputError(
                "No group is set up to receive announcements yet (none has a coordinators' channel)."
            )
        now = self._clock.now()
        async with self._db.session() as session:
            announcement = OfficeAnnouncement(
                office_guild_id=office_guild_id,
                text=text,
                file_name=file_name if file_data is not None else None,
                file_data=file_data,
                report_channel_id=report_channel_id,
                report_queued=True,
                created_at=now,
            )
            session.add(announcement)
            await session.flush()
            targets = []
            for recipient in recipients:
                channels = [(COORDINATORS, recipient.coordinators_channel_id)]
                if recipient.facilitators_channel_id is not None:
                    channels.append((FACILITATORS, recipient.facilitators_channel_id))
                for kind, channel_id in channels:
                    target = OfficeAnnouncementTarget(
                        announcement_id=announcement.id,
                        guild_id=recipient.guild_id,
                        group_name=recipient.name[:100],
                        channel_kind=kind,
                        channel_id=channel_id,
                        state=PENDING,
                        updated_at=now,
                    )
                    session.add(target)
                    targets.append(target)
            await session.flush()
            # The report first, so that the office sees "sending" before the first outcome comes in.
            enqueue(session, now, office_guild_id, AnnouncementReport(announcement.id))
            for target in targets:
                enqueue(session, now, target.guild_id, AnnouncementPost(target.id))
            announcement_id = announcement.id
        log.info("Announcement %s queued for %d channel(s).", announcement_id, len(targets))
        return announcement_id

    async def outgoing(self, target_id: int) -> Outgoing | None:
        """Return what a target's delivery posts (None if the target is gone)."""
        async with self._db.session() as session:
            target = await session.get(OfficeAnnouncementTarget, target_id)
            if target is None:
                return None
            announcement = await session.get(OfficeAnnouncement, target.announcement_id)
            if announcement is None:
                return None
            return Outgoing(
                _target(target), announcement_content(announcement.text), announcement.file_name, announcement.file_data
            )

    async def record_delivered(self, target_id: int, message_id: int) -> None:
        """Record a delivered target and queue a refresh of its report."""
        await self._record(target_id, DELIVERED, None, message_id)

    async def record_failed(self, target_id: int, reason: str, *, final: bool) -> None:
        """Record a failed try: given up (`final`) or to be retried; queue a refresh of the report."""
        await self._record(target_id, FAILED if final else RETRYING, reason[:200], None)

    async def _record(self, target_id: int, state: str, reason: str | None, message_id: int | None) -> None:
        now = self._clock.now()
        async with self._db.session() as session:
            target = await session.get(OfficeAnnouncementTarget, target_id)
            if target is None or target.state in SETTLED:
                return
            target.state, target.reason, target.message_id, target.updated_at = state, reason, message_id, now
            await session.flush()
            await self._queue_report(session, target.announcement_id, now)
            await self._drop_file_when_settled(session, target.announcement_id)

    async def _queue_report(self, session: AsyncSession, announcement_id: int, now: datetime) -> None:
        # Only the outcome that finds no refresh waiting queues one: the waiting one will show this outcome too.
        won = await session.execute(
            update(OfficeAnnouncement)
            .where(OfficeAnnouncement.id == announcement_id, OfficeAnnouncement.report_queued.is_(False))
            .values(report_queued=True)
        )
        if rowcount(won) == 1:
            office = await session.scalar(
                select(OfficeAnnouncement.office_guild_id).where(OfficeAnnouncement.id == announcement_id)
            )
            enqueue(session, now, int(office or 0), AnnouncementReport(announcement_id))

    async def _drop_file_when_settled(self, session: AsyncSession, announcement_id: int) -> None:
        waiting = await session.scalar(
            select(OfficeAnnouncementTarget.id)
            .where(
                OfficeAnnouncementTarget.announcement_id == announcement_id,
                OfficeAnnouncementTarget.state.not_in(SETTLED),
            )
            .limit(1)
        )
        if waiting is None:
            # Nothing will post the file again: keep no copy of it.
            await session.execute(
                update(OfficeAnnouncement).where(OfficeAnnouncement.id == announcement_id).values(file_data=None)
            )

    async def claim_report(self, announcement_id: int) -> DeliveryReport | None:
        """Take the queued refresh of a report (later outcomes queue another) and return the report as it is now."""
        async with self._db.session() as session:
            await session.execute(
                update(OfficeAnnouncement).where(OfficeAnnouncement.id == announcement_id).values(report_queued=False)
            )
        return await self.report(announcement_id)

    async def record_report_message(self, announcement_id: int, message_id: int) -> None:
        """Remember the report's message, so that later refreshes edit it."""
        async with self._db.session() as session:
            await session.execute(
                update(OfficeAnnouncement)
                .where(OfficeAnnouncement.id == announcement_id)
                .values(report_message_id=message_id)
            )

    async def report(self, announcement_id: int) -> DeliveryReport | None:
        """Return an announcement's delivery report (None if there is no such announcement)."""
        async with self._db.session() as session:
            row = await session.get(OfficeAnnouncement, announcement_id)
            if row is None:
                return None
            targets = (
                await session.scalars(
                    select(OfficeAnnouncementTarget)
                    .where(OfficeAnnouncementTarget.announcement_id == announcement_id)
                    .order_by(OfficeAnnouncementTarget.id)
                )
            ).all()
            return DeliveryReport(
                row.id,
                row.created_at,
                row.text,
                row.file_name,
                row.report_channel_id,
                row.report_message_id,
                tuple(_target(t) for t in targets),
            )

    async def recent(self, limit: int = 10) -> list[DeliveryReport]:
        """Return the latest announcements' reports, newest first (for the dashboard)."""
        async with self._db.session() as session:
            ids = (
                await session.scalars(select(OfficeAnnouncement.id).order_by(OfficeAnnouncement.id.desc()).limit(limit))
            ).all()
        reports = [await self.report(announcement_id) for announcement_id in ids]
        return [report for report in reports if report is not None]
