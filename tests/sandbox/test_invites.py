"""The sandbox's invites: create, list with use counts, resolve, delete, and join through one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from tests.sandbox import permissions as perms
from tests.sandbox.models import Channel, Guild
from tests.sandbox.plugin import ClientStarter
from tests.sandbox.server import Sandbox


class Api:
    """Raw HTTP calls as the bot."""

    def __init__(self, sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
        self.sb = sandbox
        self.session = session

    async def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bot {self.sb.token}"}
        async with self.session.request(method, self.sb.api_base + path, headers=headers, json=body) as resp:
            raw = await resp.read()
            return resp.status, json.loads(raw) if raw else None


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(sandbox, session)


async def _place(sandbox: Sandbox, bot_permissions: int = perms.DEFAULT_BOT) -> tuple[Guild, Channel]:
    guild = await sandbox.actors.create_guild("Invites", bot_permissions=bot_permissions)
    return guild, await sandbox.actors.create_channel(guild, "welcome")


async def test_create_list_join_counts_uses_and_applies_roles(sandbox: Sandbox, api: Api) -> None:
    guild, channel = await _place(sandbox, perms.DEFAULT_BOT | perms.CREATE_INSTANT_INVITE | perms.MANAGE_CHANNELS)
    helper = await sandbox.actors.create_role(guild, "Helper")
    status, made = await api(
        "POST", f"/channels/{channel.id}/invites", {"max_age": 0, "unique": True, "role_ids": [str(helper.id)]}
    )
    assert status == 200 and made["uses"] == 0 and made["max_age"] == 0 and made["expires_at"] is None
    code = made["code"]
    first = await sandbox.actors.join_via_invite(code, "newcomer")
    assert helper.id in first.roles and first.id in guild.members
    await sandbox.actors.join_via_invite(code, "another")
    status, listed = await api("GET", f"/channels/{channel.id}/invites")
    assert status == 200 and [(i["code"], i["uses"]) for i in listed] == [(code, 2)]
    # Anyone may resolve a code, but not see its metadata.
    status, resolved = await api("GET", f"/invites/{code}?with_counts=true")
    assert status == 200 and "uses" not in resolved and resolved["approximate_member_count"] == len(guild.members)


async def test_reading_uses_needs_manage_channels_or_manage_server(sandbox: Sandbox, api: Api) -> None:
    guild, channel = await _place(sandbox, perms.DEFAULT_BOT | perms.CREATE_INSTANT_INVITE)
    status, _ = await api("POST", f"/channels/{channel.id}/invites", {"max_age": 0, "unique": True})
    assert status == 200
    status, body = await api("GET", f"/channels/{channel.id}/invites")
    assert status == 403 and body["code"] == 50013
    status, body = await api("GET", f"/guilds/{guild.id}/invites")
    assert status == 403 and body["code"] == 50013
    await sandbox.actors.set_bot_permissions(guild, perms.DEFAULT_BOT | perms.MANAGE_GUILD)
    status, listed = await api("GET", f"/guilds/{guild.id}/invites")
    assert status == 200 and len(listed) == 1


async def test_creating_needs_create_invite_and_roles_below_the_bot(sandbox: Sandbox, api: Api) -> None:
    guild, channel = await _place(sandbox, perms.DEFAULT_BOT)
    # DEFAULT_BOT lacks Create Invite, but @everyone has it in a new server: take it away there.
    guild.everyone.permissions &= ~perms.CREATE_INSTANT_INVITE
    status, body = await api("POST", f"/channels/{channel.id}/invites", {"max_age": 0})
    assert status == 403 and body["code"] == 50013
    await sandbox.actors.set_bot_permissions(guild, perms.DEFAULT_BOT | perms.CREATE_INSTANT_INVITE)
    above = await sandbox.actors.create_role(guild, "Above", position=5)
    status, body = await api("POST", f"/channels/{channel.id}/invites", {"role_ids": [str(above.id)]})
    assert status == 403
    status, body = await api("POST", f"/channels/{channel.id}/invites", {"max_age": 9_999_999})
    assert status == 400 and body["code"] == 50035


async def test_one_use_invite_is_spent_and_delete_removes_it(sandbox: Sandbox, api: Api) -> None:
    _guild, channel = await _place(sandbox, perms.DEFAULT_BOT | perms.CREATE_INSTANT_INVITE | perms.MANAGE_CHANNELS)
    _, once = await api("POST", f"/channels/{channel.id}/invites", {"max_uses": 1, "unique": True})
    await sandbox.actors.join_via_invite(once["code"], "only")
    status, body = await api("GET", f"/invites/{once['code']}")
    assert status == 404 and body["code"] == 10006
    with pytest.raises(AssertionError):
        await sandbox.actors.join_via_invite(once["code"], "late")
    _, kept = await api("POST", f"/channels/{channel.id}/invites", {"max_age": 0, "unique": True})
    status, deleted = await api("DELETE", f"/invites/{kept['code']}")
    assert status == 200 and deleted["code"] == kept["code"]
    assert (await api("GET", f"/channels/{channel.id}/invites"))[1] == []


async def test_discord_py_reads_uses_and_only_the_members_intent_hears_joins(
    sandbox: Sandbox, start_client: ClientStarter
) -> None:
    _guild, channel = await _place(sandbox, perms.DEFAULT_BOT | perms.CREATE_INSTANT_INVITE | perms.MANAGE_CHANNELS)
    joined: dict[str, list[int]] = {"plain": [], "members": []}

    def client(name: str, intents: discord.Intents) -> discord.Client:
        made = discord.Client(intents=intents, guild_ready_timeout=0.05)

        async def on_member_join(member: discord.Member) -> None:
            joined[name].append(member.id)

        made.event(on_member_join)
        return made

    plain = client("plain", discord.Intents.default())
    await start_client(plain)
    await start_client(client("members", discord.Intents.default() | discord.Intents(members=True)))
    text = plain.get_channel(channel.id)
    assert isinstance(text, discord.TextChannel)
    invite = await text.create_invite(max_age=0, unique=True)
    member = await sandbox.actors.join_via_invite(invite.code, "newcomer")
    await sandbox.sync()
    await asyncio.sleep(0)
    assert joined == {"plain": [], "members": [member.id]}
    [read] = await text.invites()
    assert read.code == invite.code and read.uses == 1 and read.max_age == 0
