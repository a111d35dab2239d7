"""The sandbox's REST API over raw HTTP: headers, error codes, rate limits, validation and interaction rules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.sandbox.models import Channel, Guild, Member
from tests.sandbox.server import Sandbox

RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
)


@dataclass
class Answer:
    status: int
    headers: Any
    body: Any


class Api:
    def __init__(self, sandbox: Sandbox, session: aiohttp.ClientSession) -> None:
        self.sb = sandbox
        self.session = session

    async def __call__(
        self, method: str, path: str, body: Any = None, *, auth: str | None = "bot", **kwargs: Any
    ) -> Answer:
        headers = {}
        if auth == "bot":
            headers["Authorization"] = f"Bot {self.sb.token}"
        elif auth is not None:
            headers["Authorization"] = auth
        if body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.sb.api_base + path, headers=headers, **kwargs) as resp:
            raw = await resp.read()
            data = json.loads(raw) if raw else None
            return Answer(resp.status, resp.headers, data)


@dataclass
class Place:
    guild: Guild
    channel: Channel
    member: Member


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(sandbox, session)


@pytest.fixture
async def place(sandbox: Sandbox) -> Place:
    guild = await sandbox.actors.create_guild()
    channel = await sandbox.actors.create_channel(guild, "general")
    member = await sandbox.actors.create_member(guild, "alice")
    return Place(guild, channel, member)


async def test_json_answers_have_exact_content_type_and_rate_limit_headers(api: Api, place: Place) -> None:
    ok = await api("GET", "/users/@me")
    assert ok.status == 200
    assert ok.headers["Content-Type"] == "application/json"
    assert ok.body["id"] == str(api.sb.bot.id) and ok.body["bot"] is True
    for header in RATE_HEADERS:
        assert header in ok.headers
    error = await api("GET", "/channels/1")
    assert error.headers["Content-Type"] == "application/json"
    assert all(header in error.headers for header in RATE_HEADERS)
    typing = await api("POST", f"/channels/{place.channel.id}/typing")
    assert typing.status == 204 and "Content-Type" not in typing.headers


async def test_authorization(api: Api) -> None:
    assert (await api("GET", "/users/@me", auth=None)).status == 401
    wrong = await api("GET", "/users/@me", auth="Bot nope")
    assert (wrong.status, wrong.body["code"]) == (401, 0)
    assert (await api("GET", "/gateway", auth=None)).body == {"url": api.sb.gateway_url}


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/nope", 0),
        ("GET", "/channels/123", 10003),
        ("GET", "/guilds/123", 10004),
        ("GET", "/users/123", 10013),
        ("GET", "/guilds/{guild}/members/123", 10007),
        ("GET", "/channels/{channel}/messages/123", 10008),
        ("GET", "/guilds/{guild}/roles/123", 10011),
        ("GET", "/guilds/{guild}/scheduled-events/123", 10070),
        ("GET", "/applications/{app}/commands/123", 10063),
        ("POST", "/interactions/123/token/callback", 10062),
        ("GET", "/webhooks/{app}/token/messages/@original", 10015),
    ],
)
async def test_unknown_resources_answer_discord_codes(
    api: Api, place: Place, method: str, path: str, code: int
) -> None:
    path = path.format(guild=place.guild.id, channel=place.channel.id, app=api.sb.state.app.id)
    body = {"type": 4, "data": {"content": "x"}} if method == "POST" else None
    answer = await api(method, path, body)
    assert (answer.status, answer.body["code"]) == (404, code)


async def test_route_bucket_answers_429_like_discord(api: Api, place: Place) -> None:
    api.sb.ratelimits.set_limit("POST /channels/{channel_id}/messages", 2, 10.0)
    path = f"/channels/{place.channel.id}/messages"
    first = await api("POST", path, {"content": "one"})
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
    await api("POST", path, {"content": "two"})
    refused = await api("POST", path, {"content": "three"})
    assert refused.status == 429
    assert refused.body["message"] == "You are being rate limited."
    assert refused.body["global"] is False and 0 < refused.body["retry_after"] <= 10.0
    assert refused.headers["Via"] and refused.headers["X-RateLimit-Scope"] == "user"
    assert refused.headers["Content-Type"] == "application/json"
    # Buckets are per channel: another channel is unaffected.
    other = await api.sb.actors.create_channel(place.guild, "other")
    assert (await api("POST", f"/channels/{other.id}/messages", {"content": "x"})).status == 200
    assert api.sb.stats.rate_limited == 1
    assert api.sb.stats.requests["POST /channels/{channel_id}/messages"] == 4


async def test_global_limit_spares_interaction_callbacks(api: Api, place: Place) -> None:
    api.sb.ratelimits.global_limit, api.sb.ratelimits.global_per = 2, 30.0
    assert (await api("GET", "/users/@me")).status == 200
    assert (await api("GET", "/users/@me")).status == 200
    refused = await api("GET", f"/channels/{place.channel.id}")
    assert refused.status == 429 and refused.body["global"] is True
    assert refused.headers["X-RateLimit-Global"] == "true" and refused.headers["X-RateLimit-Scope"] == "global"
    interaction = api.sb.interactions.create(
        type=2, user=place.member.user, guild=place.guild, channel=place.channel, data={"name": "x", "type": 1}
    )
    answer = await api("POST", f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": 5}, auth=None)
    assert answer.status == 204


async def test_injected_5xx_and_counters(api: Api) -> None:
    api.sb.faults.inject_5xx("GET /users/@me", count=2, status=503)
    assert [(await api("GET", "/users/@me")).status for _ in range(3)] == [503, 503, 200]
    assert api.sb.stats.injected_5xx == 2
    assert api.sb.stats.statuses[503] == 2
    async with api.session.get(f"http://127.0.0.1:{api.sb.port}/_sandbox/stats") as resp:
        counters = await resp.json()
    assert counters["requests"]["GET /users/@me"] == 3 and counters["injected_5xx"] == 2


LONG = "x" * 101


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("content", {"content": "x" * 2001}),
        ("embeds", {"embeds": [{"title": "t"}] * 11}),
        ("embeds", {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}),
        ("components", {"content": "x", "components": [{"type": 1, "components": [{"type": 99}]}]}),
        (
            "components",
            {
                "content": "x",
                "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": LONG}]}],
            },
        ),
    ],
)
async def test_invalid_message_bodies_answer_50035(api: Api, place: Place, field: str, body: dict[str, Any]) -> None:
    answer = await api("POST", f"/channels/{place.channel.id}/messages", body)
    assert (answer.status, answer.body["code"], answer.body["message"]) == (400, 50035, "Invalid Form Body")
    assert field in answer.body["errors"]
    assert api.sb.channel_messages(place.channel) == []


async def test_invalid_command_name_and_too_many_choices_answer_50035(api: Api, place: Place) -> None:
    app = api.sb.state.app.id
    bad = await api("PUT", f"/applications/{app}/commands", [{"name": "Bad Name", "description": "x", "type": 1}])
    assert (bad.status, bad.body["code"]) == (400, 50035)
    assert api.sb.state.commands == {}
    interaction = api.sb.interactions.create(
        type=4, user=place.member.user, guild=place.guild, channel=place.channel, data={"name": "x", "type": 1}
    )
    choices = [{"name": f"c{i}", "value": f"c{i}"} for i in range(26)]
    path = f"/interactions/{interaction.id}/{interaction.token}/callback"
    answer = await api("POST", path, {"type": 8, "data": {"choices": choices}}, auth=None)
    assert (answer.status, answer.body["code"]) == (400, 50035)
    # The refused body did not count as the response: a valid one still works.
    assert (await api("POST", path, {"type": 8, "data": {"choices": choices[:25]}}, auth=None)).status == 204


async def test_interaction_callback_rules(api: Api, place: Place) -> None:
    sb = api.sb
    interaction = sb.interactions.create(
        type=2, user=place.member.user, guild=place.guild, channel=place.channel, data={"name": "x", "type": 1}
    )
    path = f"/interactions/{interaction.id}/{interaction.token}/callback?with_response=true"
    early = await api("POST", f"/webhooks/{sb.state.app.id}/{interaction.token}", {"content": "too soon"}, auth=None)
    assert (early.status, early.body["code"]) == (404, 10015)
    wrong_type = await api("POST", path, {"type": 7, "data": {"content": "x"}}, auth=None)
    assert wrong_type.status == 400
    first = await api("POST", path, {"type": 4, "data": {"content": "hello", "flags": 64}}, auth=None)
    assert first.status == 200
    assert first.body["interaction"]["response_message_ephemeral"] is True
    assert first.body["resource"]["type"] == 4 and first.body["resource"]["message"]["content"] == "hello"
    second = await api("POST", path, {"type": 4, "data": {"content": "again"}}, auth=None)
    assert (second.status, second.body["code"]) == (400, 40060)
    hook = f"/webhooks/{sb.state.app.id}/{interaction.token}"
    followup = await api("POST", hook + "?wait=true", {"content": "more"}, auth=None)
    assert followup.status == 200 and followup.body["content"] == "more"
    edited = await api("PATCH", hook + "/messages/@original", {"content": "edited"}, auth=None)
    assert edited.body["content"] == "edited" and edited.body["edited_timestamp"]
    sb.interaction_token_ttl = 0.0
    expired = await api("POST", hook, {"content": "late"}, auth=None)
    assert (expired.status, expired.body["code"]) == (401, 50027)


async def test_late_callback_is_unknown_interaction(api: Api, place: Place) -> None:
    sb = api.sb
    sb.interaction_deadline = 0.0
    interaction = sb.interactions.create(
        type=2, user=place.member.user, guild=place.guild, channel=place.channel, data={"name": "x", "type": 1}
    )
    answer = await api("POST", f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": 5}, auth=None)
    assert (answer.status, answer.body["code"]) == (404, 10062)
    assert sb.transcript.of_kind("failed")


async def test_multipart_payload_json_is_validated_and_files_attached(api: Api, place: Place) -> None:
    path = f"/channels/{place.channel.id}/messages"
    form = aiohttp.FormData(quote_fields=False)
    form.add_field(
        "payload_json",
        json.dumps({"content": "see file", "attachments": [{"id": 0, "filename": "a.txt"}]}),
        content_type="application/json",
    )
    form.add_field("files[0]", b"hello", filename="a.txt", content_type="text/plain")
    answer = await api("POST", path, data=form)
    assert answer.status == 200
    assert [(a["filename"], a["size"]) for a in answer.body["attachments"]] == [("a.txt", 5)]
    bad = aiohttp.FormData(quote_fields=False)
    bad.add_field("payload_json", json.dumps({"content": "x" * 2001}), content_type="application/json")
    bad.add_field("files[0]", b"hello", filename="a.txt")
    refused = await api("POST", path, data=bad)
    assert (refused.status, refused.body["code"]) == (400, 50035)


async def test_empty_message_and_closed_dm(api: Api, place: Place) -> None:
    empty = await api("POST", f"/channels/{place.channel.id}/messages", {"content": ""})
    assert (empty.status, empty.body["code"]) == (400, 50006)
    dm = await api("POST", "/users/@me/channels", {"recipient_id": str(place.member.id)})
    assert dm.status == 200 and dm.body["type"] == 1
    assert dm.body["recipients"][0]["id"] == str(place.member.id)
    place.member.user.dms_open = False
    closed = await api("POST", f"/channels/{dm.body['id']}/messages", {"content": "hi"})
    assert (closed.status, closed.body["code"]) == (403, 50007)


async def test_scheduled_event_status_transitions(api: Api, place: Place) -> None:
    sb = api.sb
    voice = await sb.actors.create_channel(place.guild, "voice", kind="voice")
    base = f"/guilds/{place.guild.id}/scheduled-events"
    created = await api(
        "POST",
        base,
        {
            "name": "Meeting",
            "privacy_level": 2,
            "entity_type": 2,
            "channel_id": str(voice.id),
            "scheduled_start_time": "2099-01-01T19:00:00+00:00",
        },
    )
    assert created.status == 200 and created.body["status"] == 1
    path = f"{base}/{created.body['id']}"
    assert (await api("PATCH", path, {"status": 3})).status == 400
    assert (await api("PATCH", path, {"status": 2})).body["status"] == 2
    assert (await api("PATCH", path, {"status": 4})).status == 400
    assert (await api("PATCH", path, {"status": 3})).body["status"] == 3
    assert (await api("PATCH", path, {"status": 2})).status == 400
    wrong_channel = await api(
        "POST",
        base,
        {
            "name": "Meeting",
            "privacy_level": 2,
            "entity_type": 2,
            "channel_id": str(place.channel.id),
            "scheduled_start_time": "2099-01-01T19:00:00+00:00",
        },
    )
    assert (wrong_channel.status, wrong_channel.body["code"]) == (400, 50035)


async def test_injected_latency(api: Api) -> None:
    loop = asyncio.get_running_loop()
    api.sb.faults.add_latency(0.1, "GET /users/@me")
    started = loop.time()
    await api("GET", "/users/@me")
    assert loop.time() - started >= 0.1
    started = loop.time()
    await api("GET", "/gateway")
    assert loop.time() - started < 0.1


async def test_thread_membership_and_archive_rules(api: Api, place: Place) -> None:
    created = await api("POST", f"/channels/{place.channel.id}/threads", {"name": "Chat", "type": 11})
    assert created.status == 201 and created.body["type"] == 11
    thread = created.body["id"]
    members = f"/channels/{thread}/thread-members"
    assert (await api("PUT", f"{members}/{place.member.id}")).status == 204
    listed = await api("GET", members)
    assert {m["user_id"] for m in listed.body} == {str(api.sb.bot.id), str(place.member.id)}
    assert (await api("DELETE", f"{members}/@me")).status == 204
    message = await api("POST", f"/channels/{thread}/messages", {"content": "hi"})
    assert (await api("PATCH", f"/channels/{thread}", {"archived": True})).body["thread_metadata"]["archived"]
    archived_edit = await api("PATCH", f"/channels/{thread}/messages/{message.body['id']}", {"content": "x"})
    assert (archived_edit.status, archived_edit.body["code"]) == (400, 50083)
    # Sending unarchives an unlocked thread.
    assert (await api("POST", f"/channels/{thread}/messages", {"content": "back"})).status == 200
    assert not api.sb.state.channels[int(thread)].archived


async def test_webhook_message_lifecycle(api: Api, place: Place) -> None:
    sb = api.sb
    interaction = sb.interactions.create(
        type=2, user=place.member.user, guild=place.guild, channel=place.channel, data={"name": "x", "type": 1}
    )
    path = f"/interactions/{interaction.id}/{interaction.token}/callback"
    assert (await api("POST", path, {"type": 5}, auth=None)).status == 204
    hook = f"/webhooks/{sb.state.app.id}/{interaction.token}"
    loading = await api("GET", hook + "/messages/@original", auth=None)
    assert loading.body["flags"] & 128
    first = await api("POST", hook + "?wait=1", {"content": "result"}, auth=None)
    assert first.body["id"] == loading.body["id"] and not first.body["flags"] & 128
    extra = await api("POST", hook + "?wait=1", {"content": "more", "flags": 64}, auth=None)
    assert extra.body["id"] != first.body["id"] and extra.body["flags"] & 64
    assert (await api("DELETE", f"{hook}/messages/{extra.body['id']}", auth=None)).status == 204
    gone = await api("GET", f"{hook}/messages/{extra.body['id']}", auth=None)
    assert (gone.status, gone.body["code"]) == (404, 10008)
    assert (await api("DELETE", hook + "/messages/@original", auth=None)).status == 204
    assert sb.channel_messages(place.channel) == []
