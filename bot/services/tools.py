"""SMART tools in meetings: share one now, choose the next, and the rotation through the four points."""

from __future__ import annotations

import json
import logging
from typing import NamedTuple

from sqlalchemy import func, select

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models import MeetingOccurrence
from bot.domain.discord_ids import tool_work_id
from bot.domain.meeting_format import MeetingTemplate
from bot.domain.states import OccurrenceState
from bot.domain.tool_render import render_share_embed
from bot.domain.tools import ProgrammePoint, Tool, ToolLibrary
from bot.errors import InvalidInputError, NotFoundError
from bot.services.meetings.common import OccurrenceView
from bot.services.outbox import enqueue
from bot.services.outbox_payloads import Button, Message

log = logging.getLogger(__name__)

# The phase whose opening post features the meeting's tool.
WORKING_TIME = "working-time"


class SharedTool(NamedTuple):
    """A tool shared into a running meeting: posted now, or featured when Working time begins."""

    occurrence: OccurrenceView
    tool: Tool
    posted_now: bool


def rotation_pick(library: ToolLibrary, meetings_held: int) -> Tool | None:
    """Return the tool due after `meetings_held` meetings: points cycle 1-4, tools cycle within a point."""
    points = [point for point in ProgrammePoint if library.by_point(point)]
    if not points:
        return None
    point = points[meetings_held % len(points)]
    tools = library.by_point(point)
    return tools[(meetings_held // len(points)) % len(tools)]


class ToolService:
    """Use cases of the SMART tools that touch meetings."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        library: ToolLibrary,
        templates: dict[str, MeetingTemplate] | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self.library = library
        self._templates = templates or {}

    def resolve(self, query: str) -> Tool:
        """Return the tool a member meant, or say which names exist."""
        tool = self.library.find(query)
        if tool is None:
            raise InvalidInputError(f"I don't know a tool called `{query[:60]}`. `/tool list` shows them all.")
        return tool

    async def share(self, guild_id: int, query: str) -> SharedTool:
        """Make a tool the running meeting's working-time focus, posting it now once Working time has begun."""
        tool = self.resolve(query)
        now = self._clock.now()
        async with self._db.session() as session:
            row = await session.scalar(
                select(MeetingOccurrence).where(
                    MeetingOccurrence.guild_id == guild_id, MeetingOccurrence.state == OccurrenceState.RUNNING
                )
            )
            if row is None:
                raise NotFoundError("No meeting is running right now. Use `/tool next` to choose one for the next.")
            row.tool_slug = tool.slug
            if self._working_time_ahead(row):
                # Working time's opening post features the meeting's tool: posting it now too would show it twice.
                await session.flush()
                return SharedTool(OccurrenceView.of(row), tool, posted_now=False)
            enqueue(
                session,
                now,
                guild_id,
                Message(
                    venue=True,
                    content=f"Working-time focus: **{tool.name}**",
                    embeds=(render_share_embed(tool),),
                    buttons=(work_button(tool),),
                ),
                occurrence_id=row.id,
            )
            await session.flush()
            return SharedTool(OccurrenceView.of(row), tool, posted_now=True)

    def _working_time_ahead(self, row: MeetingOccurrence) -> bool:
        """Return whether the meeting has a Working time that has not begun yet."""
        template = self._templates.get(row.template_slug)
        if template is None or not any(phase.key == WORKING_TIME for phase in template.phases):
            return False
        reached = {timing.get("key") for timing in json.loads(row.phase_timings or "[]") if isinstance(timing, dict)}
        return WORKING_TIME not in reached

    async def choose_next(self, guild_id: int, query: str) -> tuple[OccurrenceView, Tool]:
        """Set the tool featured in the next scheduled meeting."""
        tool = self.resolve(query)
        async with self._db.session() as session:
            row = await session.scalar(
                select(MeetingOccurrence)
                .where(
                    MeetingOccurrence.guild_id == guild_id,
                    MeetingOccurrence.state == OccurrenceState.SCHEDULED,
                    MeetingOccurrence.starts_at > self._clock.now(),
                )
                .order_by(MeetingOccurrence.starts_at)
                .limit(1)
            )
            if row is None:
                raise NotFoundError("There is no upcoming meeting. Schedule one with `/meeting schedule`.")
            row.tool_slug = tool.slug
            await session.flush()
            return OccurrenceView.of(row), tool

    async def tool_of_meeting(self, guild_id: int, chosen: str | None) -> Tool | None:
        """Return the chosen tool, or the one the rotation has due for this group."""
        if chosen and (tool := self.library.get(chosen)) is not None:
            return tool
        async with self._db.session() as session:
            held = await session.scalar(
                select(func.count())
                .select_from(MeetingOccurrence)
                .where(MeetingOccurrence.guild_id == guild_id, MeetingOccurrence.state == OccurrenceState.COMPLETED)
            )
        return rotation_pick(self.library, int(held or 0))


def work_button(tool: Tool) -> Button:
    """Return the "Work through it" button that opens the tool's private worksheet."""
    return Button("Work through it (private)", tool_work_id(tool.slug), "success")
