"""Reply helpers shared by the cogs: ephemeral by default, long text split across messages, always in time."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.utils import MISSING

from bot.domain.text import MESSAGE_LIMIT, split_text
from cogs._discord_private import has_response, install_response

log = logging.getLogger(__name__)

# Discord fails an interaction whose initial response has not arrived 3 s after it was created; a handler that has
# not answered by this many seconds after the bot received the interaction is deferred on its behalf, leaving
# room for the gateway's delay and the deferral's own round trip.
AUTO_DEFER_AFTER = 2.0

# Deferrals in flight: the event loop keeps only weak references to tasks.
_deferring: set[asyncio.Task[None]] = set()


class PatientResponse(discord.InteractionResponse[Any]):
    """An initial response that defers itself when the handler is slow, then lets the handler answer as usual.

    Once deferred here, the handler's own `send_message` becomes a follow-up, `edit_message` an edit of the
    original response and `defer` does nothing, so no handler needs to know it was slow. A lock keeps the
    deferral from racing an answer already on its way (Discord would refuse the second with 40060).
    """

    def __init__(self, parent: discord.Interaction[Any], *, ephemeral: bool) -> None:
        super().__init__(parent)
        self._ephemeral = ephemeral
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self.deferred_by_bot = False
        # Whether the "thinking" message we deferred with is ephemeral, until the first follow-up replaces it.
        self._thinking: bool | None = None

    def arm(self, delay: float) -> None:
        """Defer after `delay` seconds unless the handler has answered by then."""
        # Discord's deadline runs in real time, so the loop's timer, not the bot's (possibly simulated) clock.
        self._timer = asyncio.get_running_loop().call_later(delay, self._start_deferring, delay)

    def disarm(self) -> None:
        """Forget the pending deferral."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start_deferring(self, delay: float) -> None:
        task = asyncio.create_task(self._defer_in_time(delay), name=f"auto-defer-{self._parent.id}")
        _deferring.add(task)
        task.add_done_callback(_deferring.discard)

    async def _defer_in_time(self, delay: float) -> None:
        async with self._lock:
            self._timer = None
            if self.is_done():
                return
            parent = self._parent
            # A button (or a form opened from one) defers invisibly: the answer then comes as a new message with
            # its own visibility, or as an edit of the button's message. A command shows "thinking", ephemeral
            # when its answer will be.
            silent = parent.type is discord.InteractionType.component or (
                parent.type is discord.InteractionType.modal_submit and parent.message is not None
            )
            try:
                if silent:
                    await super().defer()
                else:
                    await super().defer(ephemeral=self._ephemeral, thinking=True)
                    self._thinking = self._ephemeral
            except discord.HTTPException:
                log.warning("Could not defer slow interaction %s in time.", parent.id, exc_info=True)
                return
            self.deferred_by_bot = True
            log.info("Deferred interaction %s (%s): no answer after %.1f s.", parent.id, _label(parent), delay)

    async def claim_thinking(self, ephemeral: bool) -> None:
        """Make room for a follow-up that should be `ephemeral` (or public), whatever the deferral chose."""
        thinking, self._thinking = self._thinking, None
        if thinking is not None and thinking != ephemeral:
            # The first follow-up would replace the "thinking" message and keep its visibility: remove it instead,
            # so the answer is a message of its own, as private (or public) as the handler meant it.
            await self._parent.delete_original_response()

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        """Answer; once deferred, as a follow-up."""
        async with self._lock:
            if not self.deferred_by_bot:
                result = await super().send_message(*args, **kwargs)
                self.disarm()
                return result
        await follow_up(self._parent, *args, **kwargs)
        return None

    async def edit_message(self, **kwargs: Any) -> Any:
        """Answer by editing the component's message; once deferred, by editing the original response."""
        async with self._lock:
            if not self.deferred_by_bot:
                result = await super().edit_message(**kwargs)
                self.disarm()
                return result
        delete_after = kwargs.pop("delete_after", None)
        kwargs.pop("suppress_embeds", None)  # not an option of an edit of the original response
        message = await self._parent.edit_original_response(**kwargs)
        if delete_after is not None:
            await message.delete(delay=delete_after)
        return None

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> Any:
        """Defer; nothing to do when already deferred on the handler's behalf."""
        async with self._lock:
            if self.deferred_by_bot:
                if self._thinking is not None and thinking and ephemeral != self._thinking:
                    log.warning("Interaction %s was deferred before it chose its visibility.", self._parent.id)
                return None
            result = await super().defer(ephemeral=ephemeral, thinking=thinking)
            self.disarm()
            return result

    async def send_modal(self, modal: discord.ui.Modal, /) -> Any:
        """Open a form (impossible once deferred: Discord allows it only as the initial response)."""
        async with self._lock:
            result = await super().send_modal(modal)
            self.disarm()
            return result


def _label(interaction: discord.Interaction[Any]) -> str:
    command = interaction.command
    return f"/{command.qualified_name}" if command is not None else interaction.type.name


def defer_when_slow(interaction: discord.Interaction[Any], *, ephemeral: bool = True) -> None:
    """Have the interaction deferred if its handler has not answered within `AUTO_DEFER_AFTER` seconds.

    `ephemeral` says how the answer will be shown: a command deferred with "thinking" shows it that way.
    """
    if has_response(interaction):
        return  # something already holds the response object: never swap it from under them
    response = PatientResponse(interaction, ephemeral=ephemeral)
    # `Interaction.response` is cached: installing ours before anyone reads it makes every handler use this object.
    install_response(interaction, response)
    response.arm(AUTO_DEFER_AFTER)


async def follow_up(
    interaction: discord.Interaction[Any],
    content: Any = MISSING,
    *,
    ephemeral: bool = False,
    delete_after: float | None = None,
    **kwargs: Any,
) -> discord.WebhookMessage:
    """Send a follow-up to an acknowledged interaction, as ephemeral (or public) as asked."""
    response = interaction.response
    if isinstance(response, PatientResponse):
        await response.claim_thinking(ephemeral)
    message = await interaction.followup.send(
        MISSING if content is None else content, ephemeral=ephemeral, wait=True, **kwargs
    )
    if delete_after is not None:
        await message.delete(delay=delete_after)
    return message


async def reply(
    interaction: discord.Interaction,
    text: str = "",
    *,
    ephemeral: bool = True,
    embed: discord.Embed = MISSING,
    view: discord.ui.View = MISSING,
) -> None:
    """Answer the interaction; text longer than one message continues in follow-ups, never truncated.

    The embed and view go with the last piece so buttons sit under the end of the text. An interaction already
    acknowledged (deferred while the work was slow) is answered by follow-up.
    """
    pieces = split_text(text, MESSAGE_LIMIT) if text else [""]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        content = piece or MISSING
        piece_embed = embed if last else MISSING
        piece_view = view if last else MISSING
        if index == 0 and not interaction.response.is_done():
            await interaction.response.send_message(
                content or None, embed=piece_embed, view=piece_view, ephemeral=ephemeral
            )
        else:
            await follow_up(interaction, content, embed=piece_embed, view=piece_view, ephemeral=ephemeral)


def guild_id(interaction: discord.Interaction) -> int:
    """Return the guild the interaction came from; commands marked guild_only never get here without one."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage
    return interaction.guild_id
