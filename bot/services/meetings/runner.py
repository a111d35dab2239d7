"""Run meetings: claim what is due, move through the phases, and record what happened.

Every transition is a conditional UPDATE on the occurrence row, so after a restart, or with several
processes, each step happens once; the Discord side of each step goes through the outbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import claim
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.domain import meeting_run
from bot.domain.discord_ids import timestamp
from bot.domain.meeting_format import DEFAULT_TEMPLATE, MeetingTemplate, PhaseSpec, phase_prompt
from bot.domain.meeting_run import PhaseTiming, RunState
from bot.domain.shards import ShardScope
from bot.domain.states import OccurrenceState
from bot.domain.text import plural
from bot.domain.tool_render import render_share_embed
from bot.domain.tools import ToolLibrary
from bot.errors import ConflictError, InvalidInputError, NotFoundError
from bot.services.care.hooks import after_meeting
from bot.services.meetings import due
from bot.services.meetings.common import (
    EVENT_ACTIVE,
    EVENT_CANCELLED,
    EVENT_COMPLETED,
    OVERRUN_LIMIT,
    OccurrenceView,
)
from bot.services.meetings.due import longest_lead
from bot.services.meetings.notices import alert_unstaffed, open_venue, post_opening, send_reminders
from bot.services.meetings.posts import (
    alert_coordinators,
    panel_edit,
    panel_payload,
    phase_buttons,
    post_ended,
    state_values,
    uses_rota,
)
from bot.services.meetings.schedules import add_reminders, request_events
from bot.services.outbox import OutboxItem, claim_queued, enqueue
from bot.services.outbox_payloads import CloseVenue, DirectMessage, Message, Notify, PanelEdit
from bot.services.scope import in_scope
from bot.services.tools import rotation_pick, work_button

log = logging.getLogger(__name__)

PANEL_ACTIONS = ("next", "extend", "pause", "resume", "end")
EARLY_START_WINDOW = timedelta(minutes=60)


class MeetingRunner:
    """Claims and phase transitions of meetings."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        templates: dict[str, MeetingTemplate],
        library: ToolLibrary | None = None,
        scope: ShardScope | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self.templates = templates
        self.library = library
        # Only the guilds on this process's shards; the conditional-UPDATE claims stay the final guard.
        self.scope = scope

    # --- the timer ---------------------------------------------------------------------------

    async def tick(self) -> None:
        """Do everything that is due now: reminders, alerts, starts, phase timers, overruns."""
        now = self._clock.now()
        await send_reminders(self._db, self.scope, now)
        await alert_unstaffed(self._db, self.scope, now)
        await self._start_due(now)
        await self._run_timers(now)

    async def start_due(self, deliver: Callable[[list[OutboxItem]], object] | None = None) -> datetime | None:
        """Start (or record missed) every meeting whose start is due now; return the next start after now.

        With `deliver`, each started meeting's opening steps are claimed in its start's transaction and handed to it
        as soon as that commits, before the next due meeting is started.
        """
        now = self._clock.now()
        # One read for both: starting the due meetings changes no start after now, and at a start every read
        # before the meeting's opening post is lateness.
        async with self._db.session() as session:
            ids = await self._due_ids(session, now)
            upcoming = await session.scalar(
                select(func.min(MeetingOccurrence.starts_at)).where(
                    MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    MeetingOccurrence.starts_at > now,
                    in_scope(MeetingOccurrence.guild_id, self.scope),
                )
            )
        await self._start_each(ids, now, deliver)
        return upcoming

    async def next_due(self, session: AsyncSession | None = None) -> datetime | None:
        """Return the earliest instant at which `tick` has something to do."""
        if session is None:
            async with self._db.session() as session:
                return await self.next_due(session)
        return await due.next_due(session, self.scope, longest_lead(self.templates), self._state_of)

    async def _start_due(self, now: datetime) -> None:
        async with self._db.session() as session:
            ids = await self._due_ids(session, now)
        await self._start_each(ids, now)

    async def _start_each(
        self, ids: Sequence[int], now: datetime, deliver: Callable[[list[OutboxItem]], object] | None = None
    ) -> None:
        """Start the due meetings one by one, handing each one's claimed opening to `deliver` (see `start_due`)."""
        for occurrence_id in ids:
            claimed: list[OutboxItem] | None = [] if deliver is not None else None
            await self._start_one(occurrence_id, now, facilitator_id=None, manual=False, claimed=claimed)
            if deliver is not None and claimed:
                deliver(claimed)

    async def _due_ids(self, session: AsyncSession, now: datetime) -> Sequence[int]:
        """Return the scheduled meetings whose start is due at `now`, earliest first."""
        return (
            await session.scalars(
                select(MeetingOccurrence.id)
                .where(
                    MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    MeetingOccurrence.starts_at <= now,
                    in_scope(MeetingOccurrence.guild_id, self.scope),
                )
                .order_by(MeetingOccurrence.starts_at)
            )
        ).all()

    async def _start_one(
        self,
        occurrence_id: int,
        now: datetime,
        *,
        facilitator_id: int | None,
        manual: bool,
        claimed: list[OutboxItem] | None = None,
    ) -> bool:
        """Start one scheduled meeting, or record it missed when it can no longer run; return whether it started.

        With `claimed`, the opening's steps are claimed in the start's transaction and added to it, for the caller to
        deliver at once.
        """
        async with self._db.session() as session:
            row = await session.get(MeetingOccurrence, occurrence_id)
            if row is None or row.state != OccurrenceState.SCHEDULED:
                return False
            config = await session.get(GuildConfig, row.guild_id)
            if not manual and await self._record_if_missed(session, row, config, now):
                return False
            late = not manual and now - row.starts_at > timedelta(minutes=1)
            state = await self._claim_start(session, row, config, now, facilitator_id=facilitator_id, late=late)
            if state is None:
                return False
            self._open(session, row, config, state, now)  # the claim has refreshed the row
            if claimed is not None:
                claimed += await claim_queued(session, now, row.id)
            log.info("Meeting %s started (guild %s, late=%s).", row.id, row.guild_id, row.started_late)
            return True

    async def _record_if_missed(
        self, session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime
    ) -> bool:
        """Record the meeting missed when it is past its start's grace or has no facilitator; return whether it is."""
        grace = timedelta(minutes=config.late_start_grace_minutes if config else 15)
        if now - row.starts_at > grace:
            await self._miss_while_offline(session, row, config, grace, now)
            return True
        if row.facilitator_id is None and await uses_rota(session, row.guild_id):
            await self._miss_for_lack_of_facilitator(session, row, config, now)
            return True
        return False

    async def _claim_start(
        self,
        session: AsyncSession,
        row: MeetingOccurrence,
        config: GuildConfig | None,
        now: datetime,
        *,
        facilitator_id: int | None,
        late: bool,
    ) -> RunState | None:
        """Claim the meeting as running in its first phase; return its run state, or None when another claim won."""
        state = meeting_run.begin(self._phases(row, config), now)
        values: dict[str, Any] = {
            "state": OccurrenceState.RUNNING,
            "actual_start": now,
            "started_late": late,
            "facilitator_id": facilitator_id if facilitator_id is not None else row.facilitator_id,
            **state_values(state),
        }
        tool = await self._next_tool(session, row)
        if tool is not None:
            # In the claim's own statement; a tool chosen since the row was read stays chosen.
            values["tool_slug"] = func.coalesce(MeetingOccurrence.tool_slug, tool)
        won = await claim(session, row, state=OccurrenceState.SCHEDULED, values=values)
        return state if won else None

    async def _miss_while_offline(
        self,
        session: AsyncSession,
        row: MeetingOccurrence,
        config: GuildConfig | None,
        grace: timedelta,
        now: datetime,
    ) -> None:
        """Record a meeting missed because the bot was offline past its start's grace, and tell the coordinators."""
        values = {"state": OccurrenceState.MISSED, "reason": "bot down"}
        if not await claim(session, row, state=OccurrenceState.SCHEDULED, values=values):
            return
        if row.event_id or row.event_requested:
            enqueue(session, now, row.guild_id, EVENT_CANCELLED, occurrence_id=row.id)
        alert_coordinators(
            session,
            config,
            row,
            now,
            f"**{row.title}** due {timestamp(row.starts_at)} was missed: the bot was offline at its start "
            f"and more than {int(grace.total_seconds() // 60)} minutes had passed. "
            "It is recorded as missed.",
        )
        await request_events(session, row.guild_id, config, self.templates, now)

    async def _next_tool(self, session: AsyncSession, row: MeetingOccurrence) -> str | None:
        """Return the library's next tool in rotation for a meeting that has none chosen, else None."""
        if row.tool_slug is not None or self.library is None:
            return None
        held = await session.scalar(
            select(func.count())
            .select_from(MeetingOccurrence)
            .where(MeetingOccurrence.guild_id == row.guild_id, MeetingOccurrence.state == OccurrenceState.COMPLETED)
        )
        tool = rotation_pick(self.library, int(held or 0))
        return tool.slug if tool else None

    def _open(
        self, session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, state: RunState, now: datetime
    ) -> None:
        """Queue a started meeting's venue, opening posts, first phase, panel and started notices."""
        open_venue(session, row, config, now)
        post_opening(session, row, config, now)
        self._post_phase(session, row, config, state, now)
        enqueue(session, now, row.guild_id, panel_payload(row, state), occurrence_id=row.id)
        enqueue(session, now, row.guild_id, Notify("meeting_started"), occurrence_id=row.id)
        if row.event_id or row.event_requested:
            enqueue(session, now, row.guild_id, EVENT_ACTIVE, occurrence_id=row.id)

    async def _run_timers(self, now: datetime) -> None:
        # Only the meetings with a timer due: no phase timer comes before the deadline minus the longest nudge
        # lead, and the overrun limit counts from the planned end. The rest are not even read.
        due = or_(
            MeetingOccurrence.phase_deadline <= now + longest_lead(self.templates),
            MeetingOccurrence.ends_at <= now - OVERRUN_LIMIT,
        )
        async with self._db.session() as session:
            ids = (
                await session.scalars(
                    select(MeetingOccurrence.id)
                    .where(
                        MeetingOccurrence.state == OccurrenceState.RUNNING,
                        due,
                        in_scope(MeetingOccurrence.guild_id, self.scope),
                    )
                    .order_by(MeetingOccurrence.id)
                )
            ).all()
        for occurrence_id in ids:
            await self._run_timer(occurrence_id, now)

    async def _run_timer(self, occurrence_id: int, now: datetime) -> None:
        """Close, advance or nudge one running meeting if its time has come, in a transaction of its own."""
        async with self._db.session() as session:
            row = await session.get(MeetingOccurrence, occurrence_id)
            if row is None or row.state != OccurrenceState.RUNNING:
                return
            config = await session.get(GuildConfig, row.guild_id)
            state = self._state_of(row, config)
            if now >= row.ends_at + OVERRUN_LIMIT:
                await self._finish(session, row, config, state, now, note="Time's up: the meeting closed itself.")
                return
            nudge_at = state.nudge_at()
            if state.deadline is not None and now >= state.deadline and state.phase.auto_advance:
                if state.is_last:
                    await self._finish(session, row, config, state, now, note=None)
                else:
                    await self._transition(session, row, config, state, meeting_run.advance(state, now), now)
            elif nudge_at is not None and now >= nudge_at:
                if await claim(
                    session, row, phase_index=row.phase_index, phase_nudged=False, values={"phase_nudged": True}
                ):
                    left = max(int(((state.deadline or now) - now).total_seconds() // 60), 0)
                    enqueue(
                        session,
                        now,
                        row.guild_id,
                        DirectMessage(
                            user_id=row.facilitator_id,
                            channel_id=config.facilitators_channel_id if config else None,
                            content=f"{plural(left, 'minute')} left in {state.phase.title.lower()} ({row.title}).",
                        ),
                        occurrence_id=row.id,
                    )

    async def _miss_for_lack_of_facilitator(
        self, session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, now: datetime
    ) -> None:
        values = {"state": OccurrenceState.MISSED, "reason": "no facilitator"}
        if not await claim(session, row, state=OccurrenceState.SCHEDULED, values=values):
            return
        if config and config.meetings_channel_id:
            enqueue(
                session,
                now,
                row.guild_id,
                Message(
                    channel_id=config.meetings_channel_id,
                    content=f"We're sorry: **{row.title}** can't go ahead today because no facilitator is "
                    "available. Please look after yourselves; `/crisis` shows where to get help, and "
                    "`/meeting list` shows the next meeting.",
                ),
                occurrence_id=row.id,
            )
        if row.event_id or row.event_requested:
            enqueue(session, now, row.guild_id, EVENT_CANCELLED, occurrence_id=row.id)
        alert_coordinators(
            session,
            config,
            row,
            now,
            f"**{row.title}** {timestamp(row.starts_at)} did not go ahead: no facilitator was on the rota for it. "
            "Members were told. It is recorded as missed (no facilitator).",
        )
        await request_events(session, row.guild_id, config, self.templates, now)

    # --- facilitator controls ------------------------------------------------------------------

    async def control(
        self, guild_id: int, occurrence_id: int, action: str, phase_index: int, user_id: int
    ) -> OccurrenceView:
        """Apply a panel button; a click on a stale panel (another phase) changes nothing."""
        if action not in PANEL_ACTIONS:
            raise InvalidInputError("Unknown control.")
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.get(MeetingOccurrence, occurrence_id)
            if row is None or row.guild_id != guild_id:
                raise NotFoundError("This meeting no longer exists.")
            if row.state != OccurrenceState.RUNNING:
                raise ConflictError(f"This meeting is {row.state}; the panel no longer applies.")
            if row.phase_index != phase_index:
                raise ConflictError("The meeting has already moved on: use the newest panel.")
            config = await session.get(GuildConfig, row.guild_id)
            state = self._state_of(row, config)
            if row.facilitator_id is None:
                row.facilitator_id = user_id
            if action == "end":
                await self._finish(session, row, config, state, now, note=None)
            elif action == "next":
                await self._transition(session, row, config, state, meeting_run.advance(state, now), now)
            else:
                changed = {
                    "extend": lambda: meeting_run.extend(state),
                    "pause": lambda: meeting_run.pause(state, now),
                    "resume": lambda: meeting_run.resume(state, now),
                }[action]()
                if not await claim(session, row, phase_index=phase_index, values=state_values(changed)):
                    raise ConflictError("Someone else changed the meeting at the same moment; try again.")
                enqueue(session, now, row.guild_id, panel_edit(panel_payload(row, changed)), occurrence_id=row.id)
            await session.flush()
            await session.refresh(row)
            return OccurrenceView.of(row)

    async def start_now(
        self,
        guild_id: int,
        facilitator_id: int,
        *,
        title: str | None = None,
        channel_id: int | None = None,
        location_kind: str = "text",
        template_slug: str = DEFAULT_TEMPLATE,
    ) -> OccurrenceView:
        """Open the meeting due within the hour early, or an unscheduled one."""
        now = self._clock.now()
        async with self._db.session() as session:
            running = await session.scalar(
                select(MeetingOccurrence.id).where(
                    MeetingOccurrence.guild_id == guild_id, MeetingOccurrence.state == OccurrenceState.RUNNING
                )
            )
            if running is not None:
                raise ConflictError("A meeting is already running here. End it from its panel first.")
            upcoming = await session.scalar(
                select(MeetingOccurrence.id)
                .where(
                    MeetingOccurrence.guild_id == guild_id,
                    MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    MeetingOccurrence.starts_at <= now + EARLY_START_WINDOW,
                )
                .order_by(MeetingOccurrence.starts_at)
                .limit(1)
            )
            if upcoming is None:
                config = await session.get(GuildConfig, guild_id)
                target = channel_id or (config.meetings_channel_id if config else None)
                if target is None:
                    raise InvalidInputError("Set a meetings channel with `/setup configure` or give a channel.")
                if template_slug not in self.templates:
                    raise InvalidInputError(f"Choose a format from: {', '.join(sorted(self.templates))}.")
                template = self.templates[template_slug]
                row = MeetingOccurrence(
                    guild_id=guild_id,
                    schedule_id=None,
                    local_start=now.isoformat()[:19],
                    starts_at=now,
                    ends_at=now + timedelta(minutes=template.duration_minutes),
                    state=OccurrenceState.SCHEDULED,
                    title=(title or "SMART Recovery meeting").strip()[:100],
                    template_slug=template_slug,
                    location_kind=location_kind,
                    channel_id=target,
                    phase_nudged=False,
                    phase_timings="[]",
                    started_late=False,
                    no_facilitator_alerted=True,
                    event_requested=False,
                    created_at=now,
                )
                session.add(row)
                await session.flush()
                upcoming = row.id
        await self._start_one(upcoming, now, facilitator_id=facilitator_id, manual=True)
        async with self._db.session() as session:
            started = await session.get(MeetingOccurrence, upcoming)
            assert started is not None  # noqa: S101 - just written
            return OccurrenceView.of(started)

    # --- outbox callbacks ----------------------------------------------------------------------

    @staticmethod
    def result_recorder(
        occurrence_id: int, kind: str, result_id: int
    ) -> Callable[[AsyncSession], Awaitable[None]] | None:
        """Return how to store what Discord created for an occurrence (its thread, event or panel), if it is kept."""
        column = {"open_venue": "venue_id", "event_create": "event_id", "panel": "panel_message_id"}.get(kind)
        if column is None:
            return None

        async def record(session: AsyncSession) -> None:
            await session.execute(
                update(MeetingOccurrence).where(MeetingOccurrence.id == occurrence_id).values({column: result_id})
            )

        return record

    async def linked_event_ids(self, guild_id: int) -> set[int]:
        """Return the scheduled events already recorded as mirroring one of the guild's meetings."""
        async with self._db.session() as session:
            found = await session.scalars(
                select(MeetingOccurrence.event_id).where(
                    MeetingOccurrence.guild_id == guild_id, MeetingOccurrence.event_id.is_not(None)
                )
            )
            return {event_id for event_id in found.all() if event_id is not None}

    async def get(self, occurrence_id: int) -> OccurrenceView | None:
        """Return one occurrence."""
        async with self._db.session() as session:
            row = await session.get(MeetingOccurrence, occurrence_id)
            return OccurrenceView.of(row) if row else None

    async def running(self, guild_id: int) -> OccurrenceView | None:
        """Return the guild's running meeting, if any."""
        async with self._db.session() as session:
            row = await session.scalar(
                select(MeetingOccurrence).where(
                    MeetingOccurrence.guild_id == guild_id, MeetingOccurrence.state == OccurrenceState.RUNNING
                )
            )
            return OccurrenceView.of(row) if row else None

    # --- internals -----------------------------------------------------------------------------

    def _phases(self, row: MeetingOccurrence, config: GuildConfig | None) -> list[PhaseSpec]:
        template = self.templates.get(row.template_slug) or self.templates[DEFAULT_TEMPLATE]
        # A group that never ran /setup has the default: pass the hat off.
        return template.active_phases(pass_the_hat=config.pass_the_hat_enabled if config else False)

    def _state_of(self, row: MeetingOccurrence, config: GuildConfig | None) -> RunState:
        paused = row.phase_paused_seconds
        return RunState(
            phases=tuple(self._phases(row, config)),
            index=row.phase_index or 0,
            deadline=row.phase_deadline,
            paused_remaining=timedelta(seconds=paused) if paused is not None else None,
            nudged=row.phase_nudged,
            timings=tuple(PhaseTiming.from_json(item) for item in json.loads(row.phase_timings or "[]")),
        )

    def _post_phase(
        self, session: AsyncSession, row: MeetingOccurrence, config: GuildConfig | None, state: RunState, now: datetime
    ) -> None:
        tool = self.library.get(row.tool_slug) if self.library and row.tool_slug else None
        featured = tool if state.phase.key == "working-time" else None
        text = phase_prompt(
            state.phase,
            number=state.index + 1,
            total=len(state.phases),
            pass_the_hat_text=config.pass_the_hat_text if config else None,
            tool_line=f"Today's SMART tool: **{featured.name}**. {featured.summary}" if featured else None,
        )
        buttons = phase_buttons(state.phase.key, row.id)
        embeds: tuple[dict[str, Any], ...] = ()
        if featured is not None:
            embeds = (render_share_embed(featured),)
            buttons.append(work_button(featured))
        payload = Message(text, venue=True, embeds=embeds, buttons=tuple(buttons))
        enqueue(session, now, row.guild_id, payload, occurrence_id=row.id)

    async def _transition(
        self,
        session: AsyncSession,
        row: MeetingOccurrence,
        config: GuildConfig | None,
        old: RunState,
        new: RunState,
        now: datetime,
    ) -> None:
        if not await claim(
            session, row, phase_index=old.index, state=OccurrenceState.RUNNING, values=state_values(new)
        ):
            raise ConflictError("The meeting has already moved on.")
        self._post_phase(session, row, config, new, now)
        enqueue(session, now, row.guild_id, panel_edit(panel_payload(row, new)), occurrence_id=row.id)

    async def _finish(
        self,
        session: AsyncSession,
        row: MeetingOccurrence,
        config: GuildConfig | None,
        state: RunState,
        now: datetime,
        *,
        note: str | None,
    ) -> None:
        final = meeting_run.finish(state, now)
        values = {**state_values(final), "state": OccurrenceState.COMPLETED, "actual_end": now, "phase_deadline": None}
        if not await claim(session, row, state=OccurrenceState.RUNNING, phase_index=row.phase_index, values=values):
            raise ConflictError("The meeting has already ended.")
        closing = note or "This meeting has ended. Thank you for being here; take care until next time."
        post_ended(session, row, now, closing)
        enqueue(
            session,
            now,
            row.guild_id,
            PanelEdit(f"**Facilitator panel** · meeting ended {timestamp(now, 't')}."),
            occurrence_id=row.id,
        )
        enqueue(session, now, row.guild_id, CloseVenue(), occurrence_id=row.id)
        enqueue(session, now, row.guild_id, Notify("meeting_closed"), occurrence_id=row.id)
        if row.event_id or row.event_requested:
            enqueue(session, now, row.guild_id, EVENT_COMPLETED, occurrence_id=row.id)
        # Volunteer care: a milestone reached, the facilitator's debrief, and a look at their load.
        await after_meeting(session, row, config, now)
        await request_events(session, row.guild_id, config, self.templates, now)
        log.info("Meeting %s completed (guild %s).", row.id, row.guild_id)


__all__ = ["MeetingRunner", "add_reminders"]
