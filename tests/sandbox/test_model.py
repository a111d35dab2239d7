"""The sandbox's model: snowflakes, Discord's permission computation, ping rules and the transcript."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.sandbox import permissions as perms
from tests.sandbox.messages import Messages
from tests.sandbox.models import Channel, Overwrite, PRIVATE_THREAD, PUBLIC_THREAD
from tests.sandbox.snowflakes import snowflake, snowflake_time
from tests.sandbox.state import SandboxState


def test_snowflakes_increase_and_carry_their_time() -> None:
    ids = [snowflake() for _ in range(1000)]
    assert ids == sorted(set(ids))
    assert abs(snowflake_time(ids[-1]) - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=2)


@pytest.fixture
def state() -> SandboxState:
    return SandboxState()


def test_permissions_follow_discords_order(state: SandboxState) -> None:
    owner = state.add_user("owner")
    guild = state.create_guild("G", owner=owner)
    channel = state.create_channel(guild, "general")
    helpers = state.create_role(guild, "Helpers", permissions=perms.MANAGE_MESSAGES)
    member = state.add_member(guild, state.add_user("alice"), roles=[helpers])
    uid = member.id
    assert state.permissions_in(channel, uid) & perms.SEND_MESSAGES
    assert state.permissions_in(channel, owner.id) == perms.ALL

    # @everyone deny, then a role allow wins, then a member deny wins over both.
    state.set_overwrite(channel, Overwrite(guild.id, 0, deny=perms.SEND_MESSAGES), target_id=guild.id)
    assert not state.permissions_in(channel, uid) & perms.SEND_MESSAGES
    state.set_overwrite(channel, Overwrite(helpers.id, 0, allow=perms.SEND_MESSAGES), target_id=helpers.id)
    assert state.permissions_in(channel, uid) & perms.SEND_MESSAGES
    state.set_overwrite(channel, Overwrite(uid, 1, deny=perms.SEND_MESSAGES), target_id=uid)
    assert not state.permissions_in(channel, uid) & perms.SEND_MESSAGES
    # Without Send Messages, embeds and mass mentions go too.
    assert not state.permissions_in(channel, uid) & perms.EMBED_LINKS

    # No View Channel means no permissions at all; Administrator bypasses overwrites.
    state.set_overwrite(channel, Overwrite(uid, 1, deny=perms.VIEW_CHANNEL), target_id=uid)
    assert state.permissions_in(channel, uid) == 0
    admins = state.create_role(guild, "Admins", permissions=perms.ADMINISTRATOR)
    state.set_member_roles(guild, member, [helpers.id, admins.id], by="test")
    assert state.permissions_in(channel, uid) == perms.ALL


def test_threads_inherit_the_parent_and_private_threads_need_membership(state: SandboxState) -> None:
    guild = state.create_guild("G", owner=state.add_user("owner"))
    parent = state.create_channel(guild, "general")
    member = state.add_member(guild, state.add_user("alice"))
    public = Channel(id=snowflake(), type=PUBLIC_THREAD, name="t", guild_id=guild.id, parent_id=parent.id)
    private = Channel(id=snowflake(), type=PRIVATE_THREAD, name="p", guild_id=guild.id, parent_id=parent.id)
    assert state.permissions_in(public, member.id) & perms.SEND_MESSAGES_IN_THREADS
    assert state.permissions_in(private, member.id) == 0
    private.thread_members[member.id] = private.created_at
    assert state.permissions_in(private, member.id) & perms.VIEW_CHANNEL
    state.set_overwrite(parent, Overwrite(member.id, 1, deny=perms.VIEW_CHANNEL), target_id=member.id)
    assert state.permissions_in(public, member.id) == 0


def test_ping_rules(state: SandboxState) -> None:
    messages = Messages(state)
    guild = state.create_guild("G", owner=state.add_user("owner"))
    channel = state.create_channel(guild, "general")
    quiet_role = state.create_role(guild, "Quiet")
    loud_role = state.create_role(guild, "Loud", mentionable=True)
    alice = state.add_member(guild, state.add_user("alice"), roles=[quiet_role])
    bob = state.add_member(guild, state.add_user("bob"), roles=[loud_role])
    bot = state.bot.id
    text = f"<@{alice.id}> <@!{bob.id}> <@&{quiet_role.id}> <@&{loud_role.id}> @everyone"

    everything = messages.resolve_pings(channel, bot, text, None, None)
    assert everything.users == [alice.id, bob.id]
    assert everything.roles == [loud_role.id]  # not mentionable, and the bot lacks Mention Everyone
    assert not everything.everyone

    nothing = messages.resolve_pings(channel, bot, text, {"parse": []}, None)
    assert not nothing and nothing.user_ids == set()

    only_role = messages.resolve_pings(channel, bot, text, {"parse": [], "roles": [str(loud_role.id)]}, None)
    assert (only_role.users, only_role.roles, only_role.user_ids) == ([], [loud_role.id], {bob.id})

    guild.roles[guild.id].permissions |= perms.MENTION_EVERYONE
    mass = messages.resolve_pings(channel, bot, text, {"parse": ["everyone", "roles"]}, None)
    assert mass.everyone and mass.roles == [quiet_role.id, loud_role.id]
    assert mass.user_ids == {alice.id, bob.id, guild.owner_id}

    reply = messages.resolve_pings(channel, bot, "thanks", {"parse": [], "replied_user": True}, alice.id)
    assert reply.users == [alice.id]


def test_transcript_renders_and_waits(state: SandboxState) -> None:
    guild = state.create_guild("G", owner=state.add_user("owner"))
    channel = state.create_channel(guild, "general")
    messages = Messages(state)
    body = {
        "content": "Meeting at <t:1700000000:F>",
        "embeds": [{"title": "Agenda", "fields": [{"name": "Check-in", "value": "5 min"}]}],
        "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Join", "custom_id": "join"}]}],
    }
    message = messages.create(channel, state.bot, body)
    assert message.components[0]["id"] == 1 and message.components[0]["components"][0]["id"] == 2
    text = state.transcript.render()
    assert "#general" in text and "'Meeting at <t:1700000000:F>'" in text
    assert "[embed title='Agenda'; field 'Check-in'='5 min']" in text
    assert "[button 'Join' primary join]" in text
    assert str(state.transcript) == text
    assert state.transcript.messages(channel.id)[0].message_id == message.id
