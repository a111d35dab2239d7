"""Count who attends a meeting without storing who they are, finalise its numbers, and honour opt-outs.

While a meeting runs, its tally (an AttendanceTracker keyed by pseudonym, or by a one-meeting token for opted-out
members) lives in `participation_live`; every change is a conditional UPDATE on its version, so a restart or a
replayed gateway event neither loses nor doubles anyone. When the meeting closes the tally becomes per-meeting
numbers and attendance marks, and is deleted. See docs/PRIVACY.md for what is kept and why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import insert_ignore, rowcount
from bot.db.models import GuildConfig, MeetingOccurrence
from bot.db.models_participation import (
    FeedbackGiven,
    ParticipationLive,
    ParticipationMark,
    ParticipationOccurrence,
    ParticipationOptOut,
    ParticipationSettings,
)
from bot.domain import attendance
from bot.domain.attendance import AttendanceTracker, CheckedIn, MessagePosted, VoiceJoined, VoiceLeft
from bot.domain.meeting_format import MeetingTemplate
from bot.domain.states import OccurrenceState
from bot.errors import ConflictError, InvalidInputError, NotFoundError
from bot.services.participation.common import (
    DEFAULT_RETENTION_MONTHS,
    FEEDBACK_WINDOW,
    GroupParticipation,
    MAX_ATTEMPTS,
    OPT_OUT_MODES,
    ParticipationKeys,
    RetryError,
    UNCOUNTED,
    UNLINKED,
    ensure_numbers_row,
    gave_up,
    group_names,
    load_settings,
    opt_out_modes,
    optout_key_path,
    period_of,
)
from bot.services.participation.feedback import FeedbackService
from bot.services.participation.office import OfficeService
from bot.services.participation.tally import (
    add_marks,
    claim_finalisation,
    delete_live,
    final_tally,
    forget_in_state,
    marked_before,
    outcome_of,
    record_numbers,
    rekey_state,
    save_live,
    utc_midnight,
)

__all__ = [
    "FEEDBACK_WINDOW",
    "UNCOUNTED",
    "UNLINKED",
    "GroupParticipation",
    "MeetingTally",
    "ParticipationKeys",
    "ParticipationService",
    "VoiceMeeting",
    "forget_in_state",
    "optout_key_path",
    "rekey_state",
]

log = logging.getLogger(__name__)

VOICE_KINDS = ("voice", "stage")
TERMINAL_STATES = (OccurrenceState.COMPLETED, OccurrenceState.CANCELLED, OccurrenceState.MISSED)
RECONCILE_BATCH = 500
RECONCILE_MARGIN = timedelta(days=1)
# Discord's own limit for a server's name; a coordinators' label stands in for it.
MAX_GROUP_LABEL = 100


@dataclass(frozen=True, slots=True)
class VoiceMeeting:
    """A running meeting held in a voice or stage channel."""

    occurrence_id: int
    guild_id: int
    channel_id: int


@dataclass(frozen=True, slots=True)
class MeetingTally:
    """What the bot knows of a meeting so far: counts only."""

    attendees: int
    in_voice: int
    checkins: int


class ParticipationService:
    """Counting during meetings, finalising them, opt-out, settings and retention; `.feedback` for the form."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        templates: Mapping[str, MeetingTemplate] | None = None,
        keys: ParticipationKeys | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._templates = dict(templates or {})
        self._keys = keys
        self.feedback = FeedbackService(database, clock, lambda: self.keys)
        self.office = OfficeService(database, clock, self.reconcile)

    def load_keys(self, key_file: Path) -> None:
        """Load the keys once from the key file (creating it when missing); later calls change nothing."""
        if self._keys is None:
            self._keys = ParticipationKeys.from_file(key_file)

    @property
    def keys(self) -> ParticipationKeys:
        """The loaded keys; counting refuses to run without them rather than store anything unkeyed."""
        if self._keys is None:
            raise RuntimeError("the pseudonym key has not been loaded")
        return self._keys

    # --- settings ------------------------------------------------------------------------------

    async def settings(self, guild_id: int) -> GroupParticipation:
        """Return the group's settings (the defaults when it never changed them)."""
        async with self._db.session() as session:
            return await load_settings(session, guild_id)

    async def update_settings(self, guild_id: int, **changes: int | None) -> GroupParticipation:
        """Validate and store the given settings, leaving the others as they were."""
        unknown = set(changes) - {"min_voice_minutes", "period_months", "period_anchor_month", "retention_months"}
        if unknown:
            raise InvalidInputError(f"Not a setting I know: {', '.join(sorted(unknown))}.")
        given = {name: value for name, value in changes.items() if value is not None}
        async with self._db.session() as session:
            current = await load_settings(session, guild_id)
            merged = GroupParticipation(**{**current.as_dict(), **given})
            merged.validate()
            row = await session.get(ParticipationSettings, guild_id)
            if row is None:
                row = ParticipationSettings(guild_id=guild_id, updated_at=self._clock.now())
                session.add(row)
            for name, value in merged.as_dict().items():
                if name != "guild_id":
                    setattr(row, name, value)
            row.updated_at = self._clock.now()
        log.info("Guild %s changed participation settings: %s.", guild_id, ", ".join(sorted(given)) or "none")
        return merged

    async def group_label(self, guild_id: int) -> tuple[str | None, str | None]:
        """Return the group's label (set by its coordinators) and the server's name as the bot last saw it."""
        async with self._db.session() as session:
            row = await session.get(ParticipationSettings, guild_id)
            return (row.group_label, row.guild_name) if row is not None else (None, None)

    async def set_group_label(self, guild_id: int, label: str | None) -> None:
        """Set how reports name the group (None or blank: by the server's name again)."""
        label = (label or "").strip() or None
        if label is not None and len(label) > MAX_GROUP_LABEL:
            raise InvalidInputError(f"A group's label is at most {MAX_GROUP_LABEL} characters.")
        async with self._db.session() as session:
            row = await session.get(ParticipationSettings, guild_id)
            if row is None:
                row = ParticipationSettings(guild_id=guild_id, updated_at=self._clock.now())
                session.add(row)
            row.group_label = label
            row.updated_at = self._clock.now()
        log.info("Guild %s %s its group label.", guild_id, "set" if label else "cleared")

    async def remember_guild_name(self, guild_id: int, name: str) -> bool:
        """Store the server's name as Discord sent it (GUILD_CREATE, GUILD_UPDATE); return whether it changed."""
        name = name.strip()[:MAX_GROUP_LABEL]
        if not name:
            return False
        async with self._db.session() as session:
            fresh = {"guild_id": guild_id, "guild_name": name, "updated_at": self._clock.now()}
            created = await session.execute(insert_ignore(self._db.is_sqlite, ParticipationSettings, fresh))
            if rowcount(created) == 1:
                return True
            # Only when it differs: every connection sends every guild again, and most names never change.
            changed = await session.execute(
                update(ParticipationSettings)
                .where(
                    ParticipationSettings.guild_id == guild_id,
                    ParticipationSettings.guild_name.is_distinct_from(name),
                )
                .values(guild_name=name)
            )
            return bool(rowcount(changed))

    async def group_names(self) -> dict[int, str]:
        """Return the names reports give groups with a label or a known server name."""
        async with self._db.session() as session:
            return await group_names(session)

    # --- counting while a meeting runs ---------------------------------------------------------

    async def running_voice_meetings(self, guild_id: int | None = None) -> list[VoiceMeeting]:
        """Return running meetings held in a voice or stage channel (of one guild, or all)."""
        query = select(MeetingOccurrence).where(
            MeetingOccurrence.state == OccurrenceState.RUNNING, MeetingOccurrence.location_kind.in_(VOICE_KINDS)
        )
        if guild_id is not None:
            query = query.where(MeetingOccurrence.guild_id == guild_id)
        async with self._db.session() as session:
            rows = (await session.scalars(query.order_by(MeetingOccurrence.id))).all()
            return [VoiceMeeting(row.id, row.guild_id, row.channel_id) for row in rows]

    async def sync_presence(self, occurrence_id: int, present_user_ids: Iterable[int]) -> bool:
        """Reconcile a meeting's voice tally with who is in its channel now (at its start, after a restart)."""
        users = sorted(set(present_user_ids))
        now = self._clock.now()

        def apply(tracker: AttendanceTracker, keys: Mapping[int, str]) -> None:
            tracker.sync_voice((keys[user] for user in users if user in keys), now)

        return await self._update(occurrence_id, users, apply, voice_only=True)

    async def voice_changed(self, guild_id: int, user_id: int, left: int | None, joined: int | None) -> int:
        """Record a member leaving and/or joining voice channels; return how many meetings it concerned."""
        if left == joined:
            return 0
        now = self._clock.now()
        changed = 0
        for meeting in await self.running_voice_meetings(guild_id):
            if meeting.channel_id not in (left, joined):
                continue
            joining = meeting.channel_id == joined

            def apply(tracker: AttendanceTracker, keys: Mapping[int, str], joining: bool = joining) -> None:
                member = keys.get(user_id)
                if member is not None:
                    tracker.record(VoiceJoined(member, now) if joining else VoiceLeft(member, now))

            changed += await self._update(meeting.occurrence_id, [user_id], apply)
        return changed

    async def message_posted(self, guild_id: int, user_id: int, channel_id: int) -> bool:
        """Count a member who posted in a running meeting's thread (or its voice channel's chat)."""
        now = self._clock.now()
        async with self._db.session() as session:
            occurrence_id = await session.scalar(
                select(MeetingOccurrence.id).where(
                    MeetingOccurrence.guild_id == guild_id,
                    MeetingOccurrence.state == OccurrenceState.RUNNING,
                    (MeetingOccurrence.venue_id == channel_id)
                    | ((MeetingOccurrence.channel_id == channel_id) & MeetingOccurrence.location_kind.in_(VOICE_KINDS)),
                )
            )
        if occurrence_id is None:
            return False

        def apply(tracker: AttendanceTracker, keys: Mapping[int, str]) -> None:
            if user_id in keys:
                tracker.record(MessagePosted(keys[user_id], now))

        return await self._update(occurrence_id, [user_id], apply)

    async def check_in(self, guild_id: int, user_id: int, occurrence_id: int) -> bool:
        """Count a member who pressed "I'm here"; return False if they chose not to be counted at all.

        Raise a user-facing error when the meeting is not running.
        """
        async with self._db.session() as session:
            row = await session.get(MeetingOccurrence, occurrence_id)
            if row is None or row.guild_id != guild_id:
                raise NotFoundError("This meeting no longer exists.")
            if row.state != OccurrenceState.RUNNING:
                raise ConflictError("This meeting isn't running, so there is nothing to check in to.")
        now = self._clock.now()

        counted = True

        def apply(tracker: AttendanceTracker, keys: Mapping[int, str]) -> None:
            nonlocal counted
            counted = user_id in keys
            if counted:
                tracker.record(CheckedIn(keys[user_id], now))

        if not await self._update(occurrence_id, [user_id], apply):
            raise ConflictError("This meeting has just ended, so there is nothing to check in to.")
        return counted

    async def tally(self, occurrence_id: int) -> MeetingTally | None:
        """Return the running meeting's counts so far, or None when nothing is being counted."""
        now = self._clock.now()
        async with self._db.session() as session:
            live = await session.get(ParticipationLive, occurrence_id)
            if live is None:
                return None
            tracker = AttendanceTracker.from_json(live.state)
        return MeetingTally(len(tracker.counted(now)), len(tracker.in_voice), len(tracker.checked_in))

    async def _update(
        self,
        occurrence_id: int,
        user_ids: list[int],
        apply: Callable[[AttendanceTracker, Mapping[int, str]], None],
        *,
        voice_only: bool = False,
    ) -> bool:
        """Apply a change to a running meeting's tally as a conditional UPDATE; return False if it is not running.

        `apply` gets the keys of the members who are counted: a member who chose not to be counted has none.
        """
        keys = self.keys
        for _attempt in range(MAX_ATTEMPTS):
            try:
                async with self._db.session() as session:
                    row = await session.get(MeetingOccurrence, occurrence_id)
                    if row is None or row.state != OccurrenceState.RUNNING:
                        return False
                    if voice_only and row.location_kind not in VOICE_KINDS:
                        return False
                    live = await self._live(session, row)
                    tracker = AttendanceTracker.from_json(live.state)
                    modes = await opt_out_modes(session, keys, row.guild_id, user_ids)
                    member_keys = {
                        user: keys.attendance.meeting_token(row.guild_id, user, row.id)
                        if modes.get(user) == UNLINKED
                        else keys.attendance.pseudonym(row.guild_id, user, live.period)
                        for user in user_ids
                        if modes.get(user) != UNCOUNTED
                    }
                    apply(tracker, member_keys)
                    await save_live(session, live, tracker.to_json(), self._clock.now())
                    return True
            except (RetryError, IntegrityError):
                continue
        raise gave_up(occurrence_id)

    async def _live(self, session: AsyncSession, row: MeetingOccurrence) -> ParticipationLive:
        """Return the meeting's tally row, creating an empty one (flushed: a racing creator loses and retries)."""
        # On PostgreSQL, lock the tally row: concurrent signals then queue instead of racing each other
        # through the version check (with a dozen at once, optimistic retries alone can run out).
        live = await session.get(ParticipationLive, row.id, with_for_update=not self._db.is_sqlite)
        if live is not None:
            return live
        settings = await load_settings(session, row.guild_id)
        period, _local = await period_of(session, row)
        tracker = AttendanceTracker(timedelta(minutes=settings.min_voice_minutes))
        live = ParticipationLive(
            occurrence_id=row.id,
            guild_id=row.guild_id,
            period=period,
            state=tracker.to_json(),
            version=0,
            updated_at=self._clock.now(),
        )
        session.add(live)
        await session.flush()
        return live

    # --- closing a meeting ---------------------------------------------------------------------

    async def finalise(self, occurrence_id: int) -> bool:
        """Turn a finished meeting's tally into numbers and marks and delete the tally; False if already done."""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                async with self._db.session() as session:
                    return await self._finalise(session, occurrence_id)
            except (RetryError, IntegrityError):
                continue
        raise gave_up(occurrence_id)

    async def _finalise(self, session: AsyncSession, occurrence_id: int) -> bool:
        """Turn a finished meeting's tally into its numbers and attendance marks, unless that is already done."""
        now = self._clock.now()
        row = await session.get(MeetingOccurrence, occurrence_id)
        if row is None or row.state not in TERMINAL_STATES:
            return False
        live = await session.get(ParticipationLive, occurrence_id)
        period = await self._ensure_numbers_row(session, row, live, now)
        if not await claim_finalisation(session, occurrence_id, now):
            return False
        end = row.actual_end or now
        tally = final_tally(live, end)
        seen_before = await marked_before(session, row, period, tally.attending)
        split = attendance.classify_attendance(tally.attending, seen_before)
        outcome, reason = outcome_of(row, split.attendees)
        phases = self._phases(row, await session.get(GuildConfig, row.guild_id))
        await record_numbers(session, row, (outcome, reason), split, tally, end, phases)
        add_marks(session, row, period, split.new | split.returning)
        await delete_live(session, occurrence_id, live)
        if row.state != OccurrenceState.COMPLETED:
            await session.execute(delete(FeedbackGiven).where(FeedbackGiven.occurrence_id == occurrence_id))
        log.info(
            "Participation for meeting %s finalised (guild %s): %s, %d attending.",
            row.id,
            row.guild_id,
            outcome if reason is None else f"{outcome} ({reason})",
            split.attendees,
        )
        return True

    async def _ensure_numbers_row(
        self, session: AsyncSession, row: MeetingOccurrence, live: ParticipationLive | None, now: datetime
    ) -> str:
        """Make sure the meeting has a numbers row and return the evaluation period it counts in."""
        period, local_day = await period_of(session, row)
        if live is not None:
            # The tally's period was fixed when counting began: its pseudonyms are keyed for that period.
            period = live.period
        await ensure_numbers_row(session, self._db.is_sqlite, row, period, local_day, now)
        return period

    def _phases(self, row: MeetingOccurrence, config: GuildConfig | None) -> tuple[int, int]:
        timings = json.loads(row.phase_timings or "[]")
        reached = len({timing.get("key") for timing in timings if isinstance(timing, dict)})
        template = self._templates.get(row.template_slug)
        if template is None:
            return reached, reached
        # A group that never ran /setup has the default: pass the hat off.
        hat = config.pass_the_hat_enabled if config is not None else False
        return reached, len(template.active_phases(pass_the_hat=hat))

    async def reconcile(self, start: date | None = None, end: date | None = None) -> int:
        """Finalise every finished meeting (completed, cancelled or missed, already due) that has no numbers yet.

        With `start` and `end` (local dates, included, as an export's) only the meetings that may fall in that range.
        """
        due = [MeetingOccurrence.state.in_(TERMINAL_STATES), MeetingOccurrence.starts_at <= self._clock.now()]
        # A local date is in the group's zone: rather than join every group's settings, a day's margin either side
        # covers every UTC offset (-12 to +14 hours). A meeting just outside the range is finalised a little early.
        if start is not None:
            due.append(MeetingOccurrence.starts_at >= utc_midnight(start - RECONCILE_MARGIN))
        if end is not None:
            due.append(MeetingOccurrence.starts_at < utc_midnight(end + RECONCILE_MARGIN + timedelta(days=1)))
        numbers = ParticipationOccurrence
        if self._db.is_sqlite:
            # SQLite tests NOT IN on the id its starts_at index holds and never reads a finalised meeting's row: a
            # year of meetings in a fifth of the join's time.
            finalised = select(numbers.occurrence_id).where(numbers.finalised_at.is_not(None))
            query = select(MeetingOccurrence.id).where(*due, MeetingOccurrence.id.not_in(finalised))
        else:
            # PostgreSQL hashes the join, where NOT IN would need every finalised id in memory or loop over them.
            query = (
                select(MeetingOccurrence.id)
                .outerjoin(numbers, numbers.occurrence_id == MeetingOccurrence.id)
                .where(*due, numbers.finalised_at.is_(None))
            )
        query = query.order_by(MeetingOccurrence.starts_at).limit(RECONCILE_BATCH)
        async with self._db.session() as session:
            ids = (await session.scalars(query)).all()
        done = 0
        for occurrence_id in ids:
            done += await self.finalise(occurrence_id)
        return done

    # --- opting out ----------------------------------------------------------------------------

    async def is_opted_out(self, guild_id: int, user_id: int) -> bool:
        """Return whether the member opted out in this guild (unlinked or not counted)."""
        return await self.opt_out_mode(guild_id, user_id) is not None

    async def opt_out_mode(self, guild_id: int, user_id: int) -> str | None:
        """Return how far the member opted out in this guild (UNLINKED or UNCOUNTED), or None when they did not."""
        async with self._db.session() as session:
            return (await opt_out_modes(session, self.keys, guild_id, [user_id])).get(user_id)

    async def set_opt_out(self, guild_id: int, user_id: int, opted_out: bool, *, mode: str = UNLINKED) -> bool:
        """Opt the member out (True, as far as `mode` says) or back in (False); return whether anything changed.

        A meeting running in the guild applies the choice to its tally at once, so it also covers the meeting in
        progress: an unlinked member is counted there by a one-meeting code and gets no mark; a member who chose not
        to be counted is taken out of its tally altogether.
        """
        if mode not in OPT_OUT_MODES:
            raise InvalidInputError(f"Unknown opt-out choice {mode!r}.")
        keys = self.keys
        fingerprint = keys.optout_hash(guild_id, user_id)
        wanted = mode if opted_out else None
        for _attempt in range(MAX_ATTEMPTS):
            try:
                async with self._db.session() as session:
                    current = await session.get(ParticipationOptOut, fingerprint)
                    before = current.mode if current is not None else None
                    if before == wanted:
                        return False
                    if current is None:
                        values = {"member_hash": fingerprint, "mode": mode}
                        result = await session.execute(insert_ignore(self._db.is_sqlite, ParticipationOptOut, values))
                    elif wanted is None:
                        result = await session.execute(
                            delete(ParticipationOptOut).where(
                                ParticipationOptOut.member_hash == fingerprint, ParticipationOptOut.mode == before
                            )
                        )
                    else:
                        result = await session.execute(
                            update(ParticipationOptOut)
                            .where(ParticipationOptOut.member_hash == fingerprint, ParticipationOptOut.mode == before)
                            .values(mode=wanted)
                        )
                    if rowcount(result) != 1:
                        raise RetryError  # another change of this member's choice came first
                    await self._rekey_running(session, guild_id, user_id, before, wanted)
            except (RetryError, IntegrityError):
                continue
            return True
        raise gave_up(None)

    async def _rekey_running(
        self, session: AsyncSession, guild_id: int, user_id: int, before: str | None, after: str | None
    ) -> None:
        lives = (
            await session.scalars(
                select(ParticipationLive)
                .join(MeetingOccurrence, MeetingOccurrence.id == ParticipationLive.occurrence_id)
                .where(ParticipationLive.guild_id == guild_id, MeetingOccurrence.state == OccurrenceState.RUNNING)
            )
        ).all()
        for live in lives:
            keyed = {
                None: self.keys.attendance.pseudonym(guild_id, user_id, live.period),
                UNLINKED: self.keys.attendance.meeting_token(guild_id, user_id, live.occurrence_id),
            }
            old, new = keyed.get(before), keyed.get(after)
            if old is None:
                continue  # they were not counted in this meeting: nothing of theirs is in the tally to move
            state = forget_in_state(live.state, old) if new is None else rekey_state(live.state, old, new)
            if state != live.state:
                await save_live(session, live, state, self._clock.now())

    # --- retention -----------------------------------------------------------------------------

    async def purge_marks(self) -> int:
        """Delete attendance marks older than each group's retention period; the per-meeting numbers stay."""
        now = self._clock.now()
        deleted = 0
        async with self._db.session() as session:
            custom = (
                await session.execute(
                    select(ParticipationSettings.guild_id, ParticipationSettings.retention_months).where(
                        ParticipationSettings.retention_months != DEFAULT_RETENTION_MONTHS
                    )
                )
            ).all()
            for guild_id, months in custom:
                result = await session.execute(
                    delete(ParticipationMark).where(
                        ParticipationMark.guild_id == guild_id,
                        ParticipationMark.starts_at < now - relativedelta(months=months),
                    )
                )
                deleted += rowcount(result)
            default_cutoff = now - relativedelta(months=DEFAULT_RETENTION_MONTHS)
            query = delete(ParticipationMark).where(ParticipationMark.starts_at < default_cutoff)
            if custom:
                query = query.where(ParticipationMark.guild_id.not_in([guild_id for guild_id, _ in custom]))
            result = await session.execute(query)
            deleted += rowcount(result)
        if deleted:
            log.info("Purged %d attendance mark(s) past their retention period.", deleted)
        return deleted

    async def housekeeping(self) -> None:
        """Do the daily chores: finalise what was missed, close feedback windows, purge old marks."""
        await self.reconcile()
        await self.feedback.close()
        await self.purge_marks()
