"""What a test holds after acting: a handle on one interaction and everything the bot answered to it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, TYPE_CHECKING

from tests.sandbox.models import FLAG_LOADING, Interaction, Json, Message
from tests.sandbox.transcript import EDIT, Entry

if TYPE_CHECKING:
    from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)

# Initial response types (https://discord.com/developers/docs/interactions/receiving-and-responding).
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9


@dataclass
class Response:
    """The bot's initial response to an interaction."""

    type: int
    data: Json
    message: Message | None

    @property
    def ephemeral(self) -> bool:
        """Return whether the response message is ephemeral."""
        return self.message is not None and self.message.ephemeral

    @property
    def content(self) -> str:
        """Return the response message's current content ('' when there is none)."""
        return self.message.content if self.message is not None else ""


class InteractionHandle:
    """A handle on one interaction a member started."""

    def __init__(self, sandbox: Sandbox, interaction: Interaction) -> None:
        self.sb = sandbox
        self.interaction = interaction

    def __repr__(self) -> str:
        return f"<InteractionHandle {self.interaction.label!r} response={self.interaction.response_type}>"

    @property
    def id(self) -> int:
        """Return the interaction id."""
        return self.interaction.id

    @property
    def token(self) -> str:
        """Return the interaction token."""
        return self.interaction.token

    @property
    def responded(self) -> bool:
        """Return whether the bot sent its initial response."""
        return self.interaction.response_type is not None

    @property
    def failed(self) -> bool:
        """Return whether Discord showed 'This interaction failed' (no response within the deadline)."""
        return self.interaction.failed and self.interaction.response_type is None

    async def response(self, *, timeout: float | None = None) -> Response:
        """Wait for the initial response; fail if the bot missed Discord's deadline."""
        wait = self.sb.interaction_deadline + 0.5 if timeout is None else timeout
        try:
            await self.sb.interactions.wait_answered(self.interaction, wait)
        except TimeoutError:
            raise AssertionError(f"no response to {self.interaction.label} within {wait} s") from None
        if self.interaction.response_type is None:
            raise AssertionError(
                f"the bot did not answer {self.interaction.label} within {self.sb.interaction_deadline:g} s "
                f"(Discord shows 'This interaction failed'); transcript:\n{self.sb.transcript}"
            )
        return Response(
            type=self.interaction.response_type,
            data=self.interaction.response_data or {},
            message=self.original,
        )

    @property
    def original(self) -> Message | None:
        """Return the current original response message (or the component's message after an update)."""
        message_id = self.interaction.original_message_id
        if message_id is None:
            return None
        message = self.sb.state.messages.get(message_id)
        return None if message is None or message.deleted else message

    @property
    def followups(self) -> list[Message]:
        """Return the follow-up messages still present, in order."""
        state = self.sb.state
        return [state.messages[i] for i in self.interaction.followup_ids if not state.messages[i].deleted]

    @property
    def messages(self) -> list[Message]:
        """Return the original response and the follow-ups."""
        original = self.original
        return ([original] if original is not None else []) + self.followups

    @property
    def edits(self) -> list[Entry]:
        """Return the transcript entries of edits to this interaction's messages, oldest first."""
        ids = {self.interaction.original_message_id, *self.interaction.followup_ids}
        return [e for e in self.sb.transcript.of_kind(EDIT) if e.message_id in ids]

    @property
    def modal(self) -> Json | None:
        """Return the modal the bot opened (custom_id, title, components), if it did."""
        if self.interaction.response_type == MODAL:
            return self.interaction.response_data
        return None

    @property
    def choices(self) -> list[Json] | None:
        """Return the autocomplete choices the bot answered with, if it did."""
        if self.interaction.response_type == AUTOCOMPLETE_RESULT:
            return list((self.interaction.response_data or {}).get("choices") or [])
        return None

    async def wait_followups(self, count: int = 1, *, timeout: float = 5.0) -> list[Message]:
        """Wait until at least `count` follow-ups exist (a deferred reply's first follow-up counts)."""

        def enough() -> bool:
            return len(self._answers()) >= count

        await self.sb.wait_until(enough, timeout=timeout, what=f"{count} follow-up(s) to {self.interaction.label}")
        return self._answers()

    def _answers(self) -> list[Message]:
        answers = list(self.followups)
        original = self.original
        deferred = self.interaction.response_type == DEFERRED_CHANNEL_MESSAGE
        if deferred and original is not None and not original.flags & FLAG_LOADING:
            answers.insert(0, original)
        return answers

    async def wait_original(self, predicate: Any = None, *, timeout: float = 5.0) -> Message:
        """Wait until the original response exists, is no longer 'thinking', and matches `predicate`."""

        def ready() -> bool:
            message = self.original
            if message is None or message.flags & FLAG_LOADING:
                return False
            return predicate is None or bool(predicate(message))

        await self.sb.wait_until(ready, timeout=timeout, what=f"the original response to {self.interaction.label}")
        assert self.original is not None
        return self.original

    async def wait_failed(self, *, timeout: float | None = None) -> None:
        """Wait until Discord would show 'This interaction failed'."""
        wait = self.sb.interaction_deadline + 1.0 if timeout is None else timeout
        await asyncio.wait_for(self.sb.interactions.wait_answered(self.interaction, wait), wait)
        if not self.failed:
            raise AssertionError(f"{self.interaction.label} did not fail: the bot answered in time")
