"""discord.py's private `Interaction.response` slot still works the way `cogs/_discord_private.py` assumes.

The auto-defer installs its own response object through that adapter; a discord.py upgrade that renames the slot or
stops caching the property would otherwise make every slow handler fail Discord's 3-second deadline, silently.
"""

from types import SimpleNamespace
from typing import Any

import discord
import pytest

from cogs import _discord_private as adapter
from cogs._replies import PatientResponse, defer_when_slow

ADAPTER = "cogs/_discord_private.py"
UPDATE = f"discord.py {discord.__version__} changed how Interaction.response is cached: update {ADAPTER}"


def _interaction() -> discord.Interaction[Any]:
    """Build a real Interaction from a minimal slash-command payload, on a state that cannot reach Discord."""
    state: Any = SimpleNamespace(
        _get_client=lambda: SimpleNamespace(user=None),
        http=SimpleNamespace(_HTTPClient__session=None),
    )
    payload: Any = {
        "id": "1",
        "application_id": "2",
        "type": discord.InteractionType.application_command.value,
        "token": "token",
        "version": 1,
        "attachment_size_limit": 8 * 1024 * 1024,
        "data": {"id": "3", "name": "ping", "type": 1},
    }
    try:
        return discord.Interaction(data=payload, state=state)
    except Exception as error:  # whatever broke, the checks below can no longer run: say where to look
        pytest.fail(f"Cannot build a discord.Interaction from a minimal payload ({error!r}); {UPDATE} and this test.")


def test_interaction_still_has_the_response_slot() -> None:
    slots = {slot for cls in discord.Interaction.__mro__ for slot in getattr(cls, "__slots__", ())}
    assert adapter.RESPONSE_SLOT in slots, f"discord.Interaction has no slot {adapter.RESPONSE_SLOT!r}; {UPDATE}."


def test_a_fresh_interaction_has_no_response_yet() -> None:
    interaction = _interaction()
    assert not adapter.has_response(interaction), f"A fresh Interaction already holds a response object; {UPDATE}."


def test_the_response_discord_makes_is_seen() -> None:
    interaction = _interaction()
    made = interaction.response
    assert adapter.has_response(interaction), f"Reading Interaction.response no longer fills the slot; {UPDATE}."
    assert interaction.response is made, f"Interaction.response is no longer cached; {UPDATE}."


def test_an_installed_response_is_what_handlers_get() -> None:
    interaction = _interaction()
    response = PatientResponse(interaction, ephemeral=True)
    try:
        adapter.install_response(interaction, response)
    except AttributeError as error:
        pytest.fail(f"Installing a response fails ({error}); {UPDATE}.")
    assert adapter.has_response(interaction), f"The installed response is not seen as installed; {UPDATE}."
    assert interaction.response is response, f"Interaction.response ignores the installed response; {UPDATE}."


async def test_the_auto_defer_installs_its_response_once() -> None:
    interaction = _interaction()
    try:
        defer_when_slow(interaction)
    except AttributeError as error:
        pytest.fail(f"The auto-defer cannot install its response ({error}); {UPDATE}.")
    response = interaction.response
    try:
        assert isinstance(response, PatientResponse), f"The auto-defer's response is not used; {UPDATE}."
        defer_when_slow(interaction, ephemeral=False)
        assert interaction.response is response, f"A second auto-defer replaced the response; {UPDATE}."
    finally:
        if isinstance(response, PatientResponse):
            response.disarm()
