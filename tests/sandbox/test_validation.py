"""Hold the sandbox's request validation to discord.py 2.7.1's real bodies and to Discord's limits.

The accepted bodies are not written by hand: discord.py's own high-level calls build them and the
transport is replaced by a recorder, so each body is exactly what the bot would put on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from unittest import mock

import discord
import pytest
from discord import app_commands
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter

from tests.sandbox.validation import RequestValidator, is_valid_command_name

APP_ID = 111
GUILD_ID = 777
TEXT_ID = 555
VOICE_ID = 888
THREAD_ID = 1313
USER_ID = 333
TOKEN = "aW50ZXJhY3Rpb24.tok-en_A"  # interaction tokens carry dots, dashes and underscores
CALLBACK = f"/interactions/222/{TOKEN}/callback"

Request = tuple[str, str, Any]


class _SentError(Exception):
    """Stop a discord.py call once its request has been recorded."""


def _over_the_wire(body: object) -> Any:
    """Return a body as the server parses it: discord.py's JSON encoding turns tuples into lists."""
    return None if body is None else json.loads(discord.utils._to_json(body))


class _Recorder:
    """Record the method, path and JSON body of the next request discord.py makes.

    Its bound methods replace `HTTPClient.request` and `AsyncWebhookAdapter.request` on the class, so
    they receive the route and keyword arguments but not the patched object itself.
    """

    def __init__(self) -> None:
        self.requests: dict[str, Request] = {}
        self._last: Request | None = None

    async def http_request(self, route: Route, **kwargs: Any) -> Any:
        self._last = (route.method, route.url.removeprefix(Route.BASE), _over_the_wire(kwargs.get("json")))
        raise _SentError

    async def webhook_request(self, route: Route, **kwargs: Any) -> Any:
        self._last = (route.method, route.url.removeprefix(Route.BASE), _over_the_wire(kwargs.get("payload")))
        raise _SentError

    async def record(self, name: str, call: Awaitable[object]) -> None:
        self._last = None
        with contextlib.suppress(_SentError):
            await call
        assert self._last is not None, f"{name}: discord.py sent nothing"
        self.requests[name] = self._last


class CheckIn(discord.ui.Modal, title="Meeting check-in"):
    mood = discord.ui.TextInput(label="How are you doing?", style=discord.TextStyle.paragraph, max_length=4000)
    name = discord.ui.Label(text="Name to show", component=discord.ui.TextInput(placeholder="optional", required=False))


def _build_tree(client: discord.Client) -> app_commands.CommandTree:
    """Return a command tree with groups, subcommand groups, choices, autocomplete and context menus."""
    tree = app_commands.CommandTree(client)
    meeting = app_commands.Group(name="meeting", description="Meeting schedule")
    rota = app_commands.Group(name="rota", description="Facilitator rota", parent=meeting)

    @meeting.command(name="next", description="Show the next meeting")
    @app_commands.describe(timezone="Your time zone", count="How many meetings")
    async def next_meeting(
        interaction: discord.Interaction, timezone: str, count: app_commands.Range[int, 1, 10] = 1
    ) -> None: ...

    @next_meeting.autocomplete("timezone")
    async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return []

    @rota.command(name="swap", description="Swap a rota slot")
    @app_commands.choices(week=[app_commands.Choice(name=f"Week {n}", value=n) for n in range(25)])
    async def swap(
        interaction: discord.Interaction,
        week: app_commands.Choice[int],
        with_whom: discord.Member,
        slot: Literal["opening", "closing"] = "opening",
    ) -> None: ...

    tree.add_command(meeting)

    @tree.command(name="café", description="A unicode name")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def cafe(
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        hours: float = 1.0,
        public: bool = False,
        role: discord.Role | None = None,
    ) -> None: ...

    @tree.command(name="नमस्ते", description="Devanagari name")
    async def namaste(interaction: discord.Interaction) -> None: ...

    @tree.context_menu(name="Report Message")
    async def report(interaction: discord.Interaction, message: discord.Message) -> None: ...

    @tree.context_menu(name="Facilitator Info")
    async def info(interaction: discord.Interaction, member: discord.Member) -> None: ...

    @tree.command(name="checkin", description="Guild-only check-in", guild=discord.Object(id=GUILD_ID))
    async def checkin(interaction: discord.Interaction, note: app_commands.Range[str, 1, 200]) -> None: ...

    return tree


def _view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="I'll attend", custom_id="attend:42", style=discord.ButtonStyle.success))
    view.add_item(discord.ui.Button(label="Guide", url="https://smartrecovery.org"))
    options = [discord.SelectOption(label=f"Tool {n}", value=f"tool-{n}", description="SMART tool") for n in range(25)]
    view.add_item(discord.ui.Select(custom_id="tool", placeholder="Pick a tool", options=options, row=1))
    return view


def _embed() -> discord.Embed:
    embed = discord.Embed(
        title="Tuesday meeting",
        description="Opening statement, check-in, agenda",
        colour=0x2ECC71,
        url="https://smartrecovery.org",
        timestamp=datetime.datetime(2030, 1, 7, 19, tzinfo=datetime.UTC),
    )
    embed.add_field(name="When", value="<t:1893956400:F>", inline=False).set_footer(text="SMART Recovery")
    return embed.set_author(name="Meeting bot")


async def _capture() -> dict[str, Request]:
    """Return the requests discord.py 2.7.1 builds for every call the bot makes, by scenario name."""
    recorder = _Recorder()
    client = discord.Client(intents=discord.Intents(guilds=True))
    state = client._connection
    state.application_id = APP_ID
    user = {"id": str(USER_ID), "username": "member", "discriminator": "0", "avatar": None}
    base = {"id": "222", "application_id": str(APP_ID), "token": TOKEN, "version": 1}
    base |= {"attachment_size_limit": 8388608, "user": user, "channel": {"id": "444", "type": 1}}
    command = discord.Interaction(data={**base, "type": 2, "data": {"id": "1", "name": "x", "type": 1}}, state=state)
    deferred = discord.Interaction(data={**base, "type": 2, "data": {"id": "1", "name": "x", "type": 1}}, state=state)
    click = discord.Interaction(data={**base, "type": 3, "data": {"custom_id": "b", "component_type": 2}}, state=state)
    update = discord.Interaction(data={**base, "type": 3, "data": {"custom_id": "b", "component_type": 2}}, state=state)
    typing = discord.Interaction(data={**base, "type": 4, "data": {"id": "1", "name": "x", "type": 1}}, state=state)
    modal = discord.Interaction(data={**base, "type": 2, "data": {"id": "1", "name": "x", "type": 1}}, state=state)
    voice = {"id": str(VOICE_ID), "type": 2, "name": "Meeting room", "position": 0, "bitrate": 64000, "user_limit": 0}
    text = {"id": str(TEXT_ID), "type": 0, "name": "meetings", "position": 1}
    facilitators = {"id": "4242", "name": "Facilitators", "permissions": "0", "position": 1, "color": 0}
    facilitators |= {"hoist": False, "managed": False, "mentionable": True}
    guild_data = {"id": str(GUILD_ID), "name": "SMART", "channels": [voice, text], "roles": [facilitators]}
    guild = discord.Guild(data=guild_data, state=state)  # type: ignore[arg-type]
    channel = guild.get_channel(TEXT_ID)
    room = guild.get_channel(VOICE_ID)
    assert isinstance(channel, discord.TextChannel) and isinstance(room, discord.VoiceChannel)
    start = datetime.datetime(2030, 1, 7, 19, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(hours=1, minutes=30)
    event_data = {"id": "999", "guild_id": str(GUILD_ID), "name": "Meeting", "scheduled_start_time": start.isoformat()}
    event_data |= {"privacy_level": 2, "status": 1, "entity_type": 2, "channel_id": str(VOICE_ID)}
    event = discord.ScheduledEvent(state=state, data=event_data)  # type: ignore[arg-type]
    thread_meta = {"archived": False, "auto_archive_duration": 1440, "archive_timestamp": start.isoformat()}
    thread_data = {"id": str(THREAD_ID), "guild_id": str(GUILD_ID), "parent_id": str(TEXT_ID), "owner_id": "1"}
    thread_data |= {
        "name": "Check-ins",
        "type": 11,
        "thread_metadata": thread_meta,
        "message_count": 0,
        "member_count": 1,
    }
    thread = discord.Thread(guild=guild, state=state, data=thread_data)  # type: ignore[arg-type]
    member_data = {"user": user, "roles": [], "joined_at": None, "deaf": False, "mute": False, "flags": 0}
    member = discord.Member(data=member_data, guild=guild, state=state)  # type: ignore[arg-type]
    record: Callable[[str, Awaitable[object]], Awaitable[None]] = recorder.record
    role_ping = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(id=4242)])

    with (
        mock.patch.object(discord.http.HTTPClient, "request", recorder.http_request),
        mock.patch.object(AsyncWebhookAdapter, "request", recorder.webhook_request),
    ):
        tree = _build_tree(client)
        await record("sync_global", tree.sync())
        await record("sync_guild", tree.sync(guild=discord.Object(id=GUILD_ID)))
        await record(
            "callback_message",
            command.response.send_message(
                "Welcome", embed=_embed(), view=_view(), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            ),
        )
        await record("callback_deferred", deferred.response.defer(ephemeral=True, thinking=True))
        await record("callback_deferred_update", click.response.defer())
        await record("callback_update", update.response.edit_message(content="Updated", embed=_embed(), view=None))
        choices = [app_commands.Choice(name="Europe/London", value="Europe/London")]
        await record("callback_autocomplete", typing.response.autocomplete(choices))
        await record("callback_modal", modal.response.send_modal(CheckIn()))
        await record("followup", command.followup.send("Later", ephemeral=True, embeds=[_embed()], view=_view()))
        await record("edit_original", command.edit_original_response(content="Edited", embed=_embed(), view=None))
        await record(
            "channel_message",
            channel.send(
                "Meeting starts", embeds=[_embed()], view=_view(), nonce="meeting-42-start", allowed_mentions=role_ping
            ),
        )
        await record(
            "channel_message_plain", thread.send("In the thread", allowed_mentions=discord.AllowedMentions.none())
        )
        message = channel.get_partial_message(1234)
        await record("message_edit", message.edit(content="Moved to Wednesday", embed=_embed(), view=_view()))
        await record("message_pin", message.pin())
        await record(
            "thread_create_public",
            channel.create_thread(name="Check-ins", type=discord.ChannelType.public_thread, auto_archive_duration=1440),
        )
        await record(
            "thread_create_private",
            channel.create_thread(name="Facilitators", type=discord.ChannelType.private_thread, invitable=False),
        )
        await record("thread_from_message", message.create_thread(name="Discussion", auto_archive_duration=10080))
        await record("thread_archive", thread.edit(archived=True, locked=True))
        await record(
            "event_create_voice",
            guild.create_scheduled_event(
                name="Tuesday meeting",
                start_time=start,
                end_time=end,
                channel=room,
                description="SMART Recovery meeting",
                privacy_level=discord.PrivacyLevel.guild_only,
            ),
        )
        await record(
            "event_create_external",
            guild.create_scheduled_event(
                name="Online meeting",
                start_time=start,
                end_time=end,
                entity_type=discord.EntityType.external,
                location="https://meet.example.org/smart",
                privacy_level=discord.PrivacyLevel.guild_only,
            ),
        )
        await record("event_create_no_privacy", guild.create_scheduled_event(name="M", start_time=start, channel=room))
        await record("event_edit_status", event.edit(status=discord.EventStatus.active))
        await record("event_edit_voice", event.edit(name="Moved", start_time=start, end_time=end, channel=room))
        await record(
            "event_edit_to_external",
            event.edit(entity_type=discord.EntityType.external, location="https://meet.example.org", end_time=end),
        )
        await record("event_start", event.start())
        await record("event_cancel", event.cancel())
        await record("dm_channel", discord.User(state=state, data=user).create_dm())  # type: ignore[arg-type]
        await record("role_add", member.add_roles(discord.Object(id=4242)))
        await record("role_remove", member.remove_roles(discord.Object(id=4242)))
        role = guild.get_role(4242)
        assert role is not None
        hidden = discord.PermissionOverwrite(view_channel=False)
        await record("channel_permissions", channel.set_permissions(role, overwrite=hidden))
        await record(
            "channel_create_with_overwrites",
            guild.create_text_channel(
                "facilitators", overwrites={role: discord.PermissionOverwrite(view_channel=True)}
            ),
        )
        await record("role_create", guild.create_role(name="Members", permissions=discord.Permissions.none()))
        await record("member_edit_roles", member.edit(roles=[role], nick="Sam"))
        await record("reply", channel.send("Thanks", reference=message, mention_author=False))
    return recorder.requests


ACCEPTED = [
    "sync_global",
    "sync_guild",
    "callback_message",
    "callback_deferred",
    "callback_deferred_update",
    "callback_update",
    "callback_autocomplete",
    "callback_modal",
    "followup",
    "edit_original",
    "channel_message",
    "channel_message_plain",
    "message_edit",
    "message_pin",
    "thread_create_public",
    "thread_create_private",
    "thread_from_message",
    "thread_archive",
    "event_create_voice",
    "event_create_external",
    "event_edit_status",
    "event_edit_voice",
    "event_edit_to_external",
    "event_start",
    "event_cancel",
    "dm_channel",
    "role_add",
    "role_remove",
    "channel_permissions",
    "channel_create_with_overwrites",
    "role_create",
    "member_edit_roles",
    "reply",
]


@pytest.fixture(scope="module")
def validator() -> RequestValidator:
    return RequestValidator()


@pytest.fixture(scope="module")
def real() -> dict[str, Request]:
    return asyncio.run(_capture())


def body_of(real: dict[str, Request], name: str) -> Any:
    """Return a private copy of a recorded body to break."""
    return copy.deepcopy(real[name][2])


def codes_at(errors: dict[str, object] | None, *path: str | int) -> list[str]:
    """Return the error codes Discord-style `errors` hold at a field path."""
    assert errors is not None, "expected the body to be rejected"
    node: Any = errors
    for key in path:
        assert str(key) in node, f"no errors at {path}: {errors}"
        node = node[str(key)]
    return [entry["code"] for entry in node["_errors"]]


# --- Real discord.py bodies are accepted ------------------------------------------------------------------


@pytest.mark.parametrize("name", ACCEPTED)
def test_real_discord_py_body_is_accepted(validator: RequestValidator, real: dict[str, Request], name: str) -> None:
    method, path, body = real[name]
    assert validator.operation_for(method, path) is not None, f"{method} {path} matches no operation"
    assert validator.validate(method, path, body) is None


def test_an_accepted_body_is_checked_once_and_a_changed_copy_afresh(
    real: dict[str, Request], monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = RequestValidator()
    method, path, body = real["sync_global"]
    checked = []
    for_operation = validator._validator_for

    class Counting:
        def __init__(self, schema: Any) -> None:
            self.schema = schema

        def iter_errors(self, instance: Any) -> Any:
            checked.append(instance)
            return self.schema.iter_errors(instance)

    monkeypatch.setattr(validator, "_validator_for", lambda *args: Counting(for_operation(*args)))
    assert validator.validate(method, path, body) is None
    assert validator.validate(method, path, copy.deepcopy(body)) is None
    broken = body_of(real, "sync_global")
    broken[0]["name"] = "x" * 40  # longer than a command name may be
    assert codes_at(validator.validate(method, path, broken), 0, "name")
    assert codes_at(validator.validate(method, path, broken), 0, "name")  # a refusal is never remembered
    assert validator.validate(method, path, body) is None
    assert len(checked) == 3  # the body once, the broken copy twice


def test_recorded_bodies_cover_what_the_bot_relies_on(real: dict[str, Request]) -> None:
    callback_types = [real[name][2]["type"] for name in ACCEPTED if name.startswith("callback_")]
    assert sorted(callback_types) == [4, 5, 6, 7, 8, 9]
    sent = real["channel_message"][2]
    assert sent["nonce"] == "meeting-42-start" and sent["enforce_nonce"] is True
    assert sent["allowed_mentions"]["parse"] == [] and sent["allowed_mentions"]["roles"] == [4242]
    assert len(sent["embeds"]) == 1 and [row["type"] for row in sent["components"]] == [1, 1]
    commands = {command["name"]: command for command in real["sync_global"][2]}
    assert set(commands) == {"meeting", "café", "नमस्ते", "Report Message", "Facilitator Info"}
    group = commands["meeting"]["options"]
    assert [option["type"] for option in group] == [2, 1]  # subcommand group, subcommand
    assert len(group[0]["options"][0]["options"][0]["choices"]) == 25
    assert group[1]["options"][0]["autocomplete"] is True
    assert real["followup"][:2] == ("POST", f"/webhooks/{APP_ID}/{TOKEN}")
    assert real["edit_original"][:2] == ("PATCH", f"/webhooks/{APP_ID}/{TOKEN}/messages/@original")
    assert real["role_add"] == ("PUT", f"/guilds/{GUILD_ID}/members/{USER_ID}/roles/4242", None)
    assert real["dm_channel"] == ("POST", "/users/@me/channels", {"recipient_id": USER_ID})
    assert real["channel_permissions"][2]["deny"] == "1024"  # permission bitfields travel as strings


def test_permission_strings_from_discord_py_are_allowed(validator: RequestValidator) -> None:
    # The spec types permission bitfields as ints; its README says int-parseable strings are accepted.
    path = f"/channels/{TEXT_ID}/permissions/4242"
    assert validator.validate("PUT", path, {"type": 0, "allow": "0", "deny": "1024"}) is None
    assert validator.validate("PUT", path, {"type": 0, "allow": 0, "deny": 1024}) is None
    assert codes_at(validator.validate("PUT", path, {"type": 0, "deny": "lots"}), "deny")


def test_integer_snowflakes_from_discord_py_are_allowed(validator: RequestValidator) -> None:
    # The spec types snowflakes as digit strings; discord.py sends ints and Discord takes them.
    assert validator.validate("POST", "/users/@me/channels", {"recipient_id": USER_ID}) is None
    assert validator.validate("POST", "/users/@me/channels", {"recipient_id": str(USER_ID)}) is None
    errors = validator.validate("POST", "/users/@me/channels", {"recipient_id": "not-a-snowflake"})
    assert codes_at(errors, "recipient_id")


def test_scheduled_event_without_privacy_level_is_rejected(
    validator: RequestValidator, real: dict[str, Request]
) -> None:
    # discord.py omits privacy_level unless it is passed; the spec and the docs require it.
    method, path, body = real["event_create_no_privacy"]
    assert "privacy_level" not in body
    assert codes_at(validator.validate(method, path, body), "privacy_level") == ["BASE_TYPE_REQUIRED"]


# --- Documented limits are enforced ----------------------------------------------------------------------


def test_content_over_2000_is_rejected_everywhere(validator: RequestValidator, real: dict[str, Request]) -> None:
    for name in ("channel_message", "message_edit", "followup", "edit_original", "callback_message", "callback_update"):
        method, path, _ = real[name]
        body = body_of(real, name)
        where = ("data", "content") if "data" in body else ("content",)
        target = body.get("data", body)
        target["content"] = "x" * 2000
        assert validator.validate(method, path, body) is None, name
        for length in (2001, 4001):
            target["content"] = "x" * length
            errors = validator.validate(method, path, body)
            assert codes_at(errors, *where) == ["BASE_TYPE_MAX_LENGTH"], name
            assert "2000" in str(errors), errors


def test_more_than_10_embeds_is_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "channel_message")
    body["embeds"] = [{"title": f"Embed {n}"} for n in range(11)]
    assert codes_at(validator.validate("POST", f"/channels/{TEXT_ID}/messages", body), "embeds") == [
        "BASE_TYPE_MAX_LENGTH"
    ]


def test_embed_text_over_6000_in_total_is_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "channel_message")
    body["embeds"] = [{"description": "d" * 3500}, {"description": "d" * 3500}]
    errors = validator.validate("POST", f"/channels/{TEXT_ID}/messages", body)
    assert codes_at(errors, "embeds") == ["MAX_EMBED_SIZE_EXCEEDED"]
    body["embeds"] = [{"description": "d" * 3000}, {"description": "d" * 2900, "title": "t" * 100}]
    assert validator.validate("POST", f"/channels/{TEXT_ID}/messages", body) is None


def test_per_embed_limits_are_rejected(validator: RequestValidator) -> None:
    embed = {"title": "t" * 257, "fields": [{"name": "n", "value": "v" * 1025}], "footer": {"text": "f" * 2049}}
    errors = validator.validate("POST", "/channels/1/messages", {"embeds": [embed]})
    assert codes_at(errors, "embeds", 0, "title") == ["BASE_TYPE_MAX_LENGTH"]
    assert codes_at(errors, "embeds", 0, "fields", 0, "value") == ["BASE_TYPE_MAX_LENGTH"]
    assert codes_at(errors, "embeds", 0, "footer", "text") == ["BASE_TYPE_MAX_LENGTH"]


def test_unknown_component_type_is_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "channel_message")
    body["components"][0]["components"][0]["type"] = 99
    errors = validator.validate("POST", f"/channels/{TEXT_ID}/messages", body)
    assert codes_at(errors, "components", 0, "components", 0, "type") == ["UNION_TYPE_CHOICES"]
    body = body_of(real, "channel_message")
    body["components"][0]["type"] = 99
    assert codes_at(validator.validate("POST", "/channels/1/messages", body), "components", 0, "type") == [
        "UNION_TYPE_CHOICES"
    ]


def test_custom_id_over_100_is_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "callback_message")
    body["data"]["components"][0]["components"][0]["custom_id"] = "c" * 101
    errors = validator.validate("POST", CALLBACK, body)
    assert codes_at(errors, "data", "components", 0, "components", 0, "custom_id") == ["BASE_TYPE_BAD_LENGTH"]


def test_button_label_over_80_is_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "followup")
    body["components"][0]["components"][0]["label"] = "l" * 81
    errors = validator.validate("POST", f"/webhooks/{APP_ID}/{TOKEN}", body)
    assert codes_at(errors, "components", 0, "components", 0, "label") == ["BASE_TYPE_MAX_LENGTH"]


def test_select_limits_are_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "channel_message")
    select = body["components"][1]["components"][0]
    select["options"].append({"label": "one too many", "value": "26"})
    select["placeholder"] = "p" * 151
    select["options"][0]["value"] = "v" * 101
    errors = validator.validate("POST", "/channels/1/messages", body)
    assert codes_at(errors, "components", 1, "components", 0, "options") == ["BASE_TYPE_BAD_LENGTH"]
    assert codes_at(errors, "components", 1, "components", 0, "placeholder") == ["BASE_TYPE_MAX_LENGTH"]


def test_legacy_layout_limits_are_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "channel_message")
    body["components"] = [copy.deepcopy(body["components"][0]) for _ in range(6)]
    assert codes_at(validator.validate("POST", "/channels/1/messages", body), "components") == ["BASE_TYPE_MAX_LENGTH"]
    body = body_of(real, "channel_message")
    body["components"][1]["components"].append(body["components"][0]["components"][0])
    errors = validator.validate("POST", "/channels/1/messages", body)
    assert codes_at(errors, "components", 1, "components") == ["COMPONENT_LAYOUT_WIDTH_EXCEEDED"]
    body = body_of(real, "channel_message")
    body["components"][0]["components"] *= 3
    errors = validator.validate("POST", "/channels/1/messages", body)
    assert codes_at(errors, "components", 0, "components") == ["BASE_TYPE_BAD_LENGTH"]


def test_nonce_over_25_is_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "channel_message")
    body["nonce"] = "n" * 25
    assert validator.validate("POST", "/channels/1/messages", body) is None
    body["nonce"] = "n" * 26
    assert codes_at(validator.validate("POST", "/channels/1/messages", body), "nonce") == ["BASE_TYPE_MAX_LENGTH"]


def test_autocomplete_limits_are_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "callback_autocomplete")
    body["data"]["choices"] = [{"name": f"Zone {n}", "value": f"zone-{n}"} for n in range(26)]
    assert codes_at(validator.validate("POST", CALLBACK, body), "data", "choices") == ["BASE_TYPE_MAX_LENGTH"]
    body["data"]["choices"] = [{"name": "n" * 101, "value": "v" * 101}]
    errors = validator.validate("POST", CALLBACK, body)
    assert codes_at(errors, "data", "choices", 0, "name") == ["BASE_TYPE_BAD_LENGTH"]
    assert codes_at(errors, "data", "choices", 0, "value") == ["BASE_TYPE_MAX_LENGTH"]


def test_modal_limits_are_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "callback_modal")
    body["data"]["title"] = "t" * 46
    body["data"]["components"][0]["components"][0]["label"] = "l" * 46
    body["data"]["components"][1]["label"] = "l" * 46
    errors = validator.validate("POST", CALLBACK, body)
    assert codes_at(errors, "data", "title") == ["BASE_TYPE_BAD_LENGTH"]
    assert codes_at(errors, "data", "components", 0, "components", 0, "label") == ["BASE_TYPE_BAD_LENGTH"]
    assert codes_at(errors, "data", "components", 1, "label") == ["BASE_TYPE_BAD_LENGTH"]
    body = body_of(real, "callback_modal")
    row = body["data"]["components"][0]
    body["data"]["components"] = [copy.deepcopy(row) for _ in range(6)]
    body["data"]["components"][0]["components"] *= 2
    errors = validator.validate("POST", CALLBACK, body)
    assert codes_at(errors, "data", "components") == ["BASE_TYPE_BAD_LENGTH"]
    assert codes_at(errors, "data", "components", 0, "components") == ["COMPONENT_LAYOUT_WIDTH_EXCEEDED"]


def test_unknown_callback_type_is_rejected(validator: RequestValidator) -> None:
    assert codes_at(validator.validate("POST", CALLBACK, {"type": 3}), "type") == ["UNION_TYPE_CHOICES"]


def test_more_than_25_option_choices_is_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    body = body_of(real, "sync_global")
    week = body[0]["options"][0]["options"][0]["options"][0]
    week["choices"].append({"name": "Week 25", "value": 25})
    errors = validator.validate("PUT", f"/applications/{APP_ID}/commands", body)
    assert codes_at(errors, 0, "options", 0, "options", 0, "options", 0, "choices") == ["BASE_TYPE_MAX_LENGTH"]


@pytest.mark.parametrize("name", ["Meeting", "next meeting", "x" * 33, "", "rota!", "MÉTÉO"])
def test_invalid_command_name_is_rejected(validator: RequestValidator, real: dict[str, Request], name: str) -> None:
    for where in ((2,), (0, "options", 1, "options", 0)):  # a command, and an option of a subcommand
        body = body_of(real, "sync_global")
        target = body
        for key in where:
            target = target[key]
        target["name"] = name
        errors = validator.validate("PUT", f"/applications/{APP_ID}/commands", body)
        expected = ["APPLICATION_COMMAND_INVALID_NAME"] if 1 <= len(name) <= 32 else ["BASE_TYPE_BAD_LENGTH"]
        assert codes_at(errors, *where, "name") == expected


@pytest.mark.parametrize("name", ["café", "नमस्ते", "สวัสดี", "rota-swap_2", "日程", "x" * 32])
def test_unicode_command_names_are_accepted(validator: RequestValidator, name: str) -> None:
    assert is_valid_command_name(name)
    command = {"name": name, "description": "d", "options": [{"type": 3, "name": name, "description": "d"}]}
    assert validator.validate("POST", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands", command) is None


def test_context_menu_names_may_have_capitals_and_spaces(validator: RequestValidator) -> None:
    body = [{"name": "Report Message", "type": 3}, {"name": "Facilitator Info", "type": 2}]
    assert validator.validate("PUT", f"/applications/{APP_ID}/commands", body) is None


def test_command_rules_beyond_the_spec_are_rejected(validator: RequestValidator) -> None:
    path = f"/applications/{APP_ID}/commands"
    errors = validator.validate("POST", path, {"name": "rota"})
    assert codes_at(errors, "description") == ["BASE_TYPE_REQUIRED"]
    errors = validator.validate("POST", path, {"name": "rota", "description": "d" * 101})
    assert codes_at(errors, "description") == ["BASE_TYPE_MAX_LENGTH"]
    options = [
        {"type": 3, "name": "a", "description": "d"},
        {"type": 3, "name": "b", "description": "d", "required": True},
        {"type": 3, "name": "a", "description": "d", "choices": [{"name": "c", "value": "v" * 101}]},
    ]
    errors = validator.validate("POST", path, {"name": "rota", "description": "d", "options": options})
    assert codes_at(errors, "options", 1, "required") == ["APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"]
    assert codes_at(errors, "options", 2, "name") == ["APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS"]
    assert codes_at(errors, "options", 2, "choices", 0, "value") == ["BASE_TYPE_MAX_LENGTH"]
    assert validator.validate("PATCH", f"{path}/5", {"default_member_permissions": 32}) is None
    assert codes_at(validator.validate("PATCH", f"{path}/5", {"name": "Rota", "options": []}), "name")


def test_bulk_overwrite_limits_are_rejected(validator: RequestValidator) -> None:
    path = f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
    commands = [{"name": f"command-{n}", "description": "d"} for n in range(100)]
    assert validator.validate("PUT", path, commands + [{"name": "Report", "type": 3}]) is None
    assert codes_at(validator.validate("PUT", path, [*commands, {"name": "one-more", "description": "d"}])) == [
        "BASE_TYPE_MAX_LENGTH"
    ]
    errors = validator.validate("PUT", path, [commands[0], commands[0]])
    assert codes_at(errors, 1, "name") == ["APPLICATION_COMMANDS_DUPLICATE_NAME"]


def test_scheduled_event_rules_are_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    method, path, body = real["event_create_external"]
    broken = {key: value for key, value in body.items() if key != "scheduled_end_time"}
    assert codes_at(validator.validate(method, path, broken), "scheduled_end_time") == ["BASE_TYPE_REQUIRED"]
    broken = {key: value for key, value in real["event_create_voice"][2].items() if key != "channel_id"}
    assert codes_at(validator.validate(method, path, broken), "channel_id") == ["BASE_TYPE_REQUIRED"]
    naive = dict(body, scheduled_start_time="2030-01-07T19:00:00")
    assert codes_at(validator.validate(method, path, naive), "scheduled_start_time") == ["DATE_TIME_TYPE_PARSE"]
    status = validator.validate("PATCH", f"{path}/999", {"status": 7})
    assert codes_at(status, "status") == ["BASE_TYPE_CHOICES"]


def test_thread_limits_are_rejected(validator: RequestValidator, real: dict[str, Request]) -> None:
    method, path, body = real["thread_create_public"]
    errors = validator.validate(method, path, dict(body, auto_archive_duration=30, name="n" * 101))
    assert codes_at(errors, "auto_archive_duration") == ["BASE_TYPE_CHOICES"]
    assert codes_at(errors, "name") == ["BASE_TYPE_BAD_LENGTH"]


# --- Path matching -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("POST", "/channels/123/messages", "/channels/{channel_id}/messages"),
        ("POST", CALLBACK, "/interactions/{interaction_id}/{interaction_token}/callback"),
        (
            "PATCH",
            f"/webhooks/1/{TOKEN}/messages/@original",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        ),
        ("PATCH", f"/webhooks/1/{TOKEN}/messages/42", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
        ("POST", f"/webhooks/1/{TOKEN}", "/webhooks/{webhook_id}/{webhook_token}"),
        ("PUT", "/applications/1/guilds/2/commands", "/applications/{application_id}/guilds/{guild_id}/commands"),
        ("POST", "/users/@me/channels", "/users/@me/channels"),
        ("GET", "/users/@me", "/users/@me"),
        ("GET", "/users/42", "/users/{user_id}"),
        ("put", "/guilds/1/members/2/roles/3", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
        ("GET", "/gateway/bot", "/gateway/bot"),
    ],
)
def test_operation_for_matches_the_spec_template(
    validator: RequestValidator, method: str, path: str, template: str
) -> None:
    assert validator.operation_for(method, path) == template


def test_unknown_paths_and_methods_are_left_to_the_server(validator: RequestValidator) -> None:
    assert validator.operation_for("GET", "/nowhere/1") is None
    assert validator.operation_for("DELETE", "/users/@me/channels") is None
    assert validator.validate("POST", "/nowhere/1", {"content": "x" * 5000}) is None
    assert validator.validate("GET", "/channels/1/messages", None) is None
    assert validator.validate("PUT", "/guilds/1/members/2/roles/3", None) is None
