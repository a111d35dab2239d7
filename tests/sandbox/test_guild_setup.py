"""What `/setup start` relies on, as Discord does it: overwrites within the bot's permissions, system channels."""

from __future__ import annotations

from tests.sandbox import permissions as perms
from tests.sandbox.server import Sandbox
from tests.sandbox.test_rest import Api, api

__all__ = ["api"]

BOT = perms.VIEW_CHANNEL | perms.SEND_MESSAGES | perms.MANAGE_CHANNELS | perms.MANAGE_ROLES


def _overwrite(target: int, *, kind: int = 0, allow: int = 0, deny: int = 0) -> dict[str, object]:
    return {"id": str(target), "type": kind, "allow": str(allow), "deny": str(deny)}


async def test_a_new_channel_s_overwrites_stay_within_the_bot_s_permissions(sandbox: Sandbox, api: Api) -> None:
    guild = await sandbox.actors.create_guild(bot_permissions=BOT)
    role = await sandbox.actors.create_role(guild, "Facilitator")
    private = [
        _overwrite(guild.id, deny=perms.VIEW_CHANNEL),
        _overwrite(sandbox.bot.id, kind=1, allow=perms.VIEW_CHANNEL | perms.SEND_MESSAGES),
        _overwrite(role.id, allow=perms.VIEW_CHANNEL),
    ]
    made = await api("POST", f"/guilds/{guild.id}/channels", {"name": "facilitators", "permission_overwrites": private})
    assert made.status == 201
    channel = sandbox.state.channel(made.body["id"])
    assert set(channel.overwrites) == {guild.id, sandbox.bot.id, role.id}

    # Manage Events is not the bot's to give (neither its role nor @everyone has it): Discord refuses the channel.
    beyond = [_overwrite(role.id, allow=perms.VIEW_CHANNEL | perms.MANAGE_EVENTS)]
    refused = await api("POST", f"/guilds/{guild.id}/channels", {"name": "x", "permission_overwrites": beyond})
    assert (refused.status, refused.body["code"]) == (403, 50013)
    # Manage Roles in a channel is for administrators only, even for a bot that has it server-wide.
    roles = [_overwrite(role.id, allow=perms.MANAGE_ROLES)]
    refused = await api("POST", f"/guilds/{guild.id}/channels", {"name": "y", "permission_overwrites": roles})
    assert (refused.status, refused.body["code"]) == (403, 50013)
    assert [c.name for c in guild.channels.values()] == ["facilitators"]

    admin = await sandbox.actors.create_guild(bot_permissions=perms.ADMINISTRATOR)
    admin_role = await sandbox.actors.create_role(admin, "Facilitator")
    anything = [_overwrite(admin_role.id, allow=perms.MANAGE_ROLES | perms.MANAGE_EVENTS)]
    made = await api("POST", f"/guilds/{admin.id}/channels", {"name": "z", "permission_overwrites": anything})
    assert made.status == 201


async def test_editing_an_overwrite_stays_within_the_bot_s_permissions(sandbox: Sandbox, api: Api) -> None:
    guild = await sandbox.actors.create_guild(bot_permissions=BOT)
    channel = await sandbox.actors.create_channel(guild, "meetings")
    role = await sandbox.actors.create_role(guild, "Facilitator")
    path = f"/channels/{channel.id}/permissions/{role.id}"
    beyond = await api("PUT", path, {"type": 0, "allow": str(perms.MANAGE_EVENTS), "deny": "0"})
    assert (beyond.status, beyond.body["code"]) == (403, 50013)
    within = await api("PUT", path, {"type": 0, "allow": str(perms.VIEW_CHANNEL), "deny": str(perms.SEND_MESSAGES)})
    assert within.status == 204
    assert channel.overwrites[role.id].allow == perms.VIEW_CHANNEL


async def test_a_guild_can_have_its_system_channel_when_the_bot_joins(sandbox: Sandbox, api: Api) -> None:
    empty = await sandbox.actors.create_guild("Empty")
    assert empty.system_channel_id is None and not empty.channels
    guild = await sandbox.actors.create_guild("New", system_channel="general")
    [general] = guild.channels.values()
    assert general.name == "general" and guild.system_channel_id == general.id
    answer = await api("GET", f"/guilds/{guild.id}")
    assert answer.body["system_channel_id"] == str(general.id)
    listed = await api("GET", f"/guilds/{guild.id}/channels")
    assert [c["name"] for c in listed.body] == ["general"]
