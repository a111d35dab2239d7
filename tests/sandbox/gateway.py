"""The gateway: HELLO, IDENTIFY, heartbeats, READY, GUILD_CREATE, RESUME with replay, and dispatches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.sandbox.models import Guild, Json, THREAD_TYPES
from tests.sandbox.state import FLAG_MEMBERS, FLAG_MESSAGE_CONTENT, FLAG_PRESENCE, SandboxState

log = logging.getLogger(__name__)

# Opcodes.
DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

# Intents.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_VOICE_STATES = 1 << 7
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
GUILD_SCHEDULED_EVENTS = 1 << 16
ALL_INTENTS = (1 << 26) - 1
PRIVILEGED = {GUILD_MEMBERS: FLAG_MEMBERS, GUILD_PRESENCES: FLAG_PRESENCE, MESSAGE_CONTENT: FLAG_MESSAGE_CONTENT}

_GUILD_EVENTS = {
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "THREAD_CREATE": GUILDS,
    "THREAD_UPDATE": GUILDS,
    "THREAD_DELETE": GUILDS,
    "THREAD_MEMBER_UPDATE": GUILDS,
    "THREAD_MEMBERS_UPDATE": GUILDS,
    "GUILD_UPDATE": GUILDS,
    "GUILD_DELETE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "GUILD_ROLE_DELETE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "VOICE_STATE_UPDATE": GUILD_VOICE_STATES,
    "GUILD_SCHEDULED_EVENT_CREATE": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_UPDATE": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_DELETE": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_USER_ADD": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_USER_REMOVE": GUILD_SCHEDULED_EVENTS,
}
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "CHANNEL_PINS_UPDATE"}


@dataclass(eq=False)
class Session:
    """A gateway session: survives its connection, buffers every dispatch so RESUME can replay it."""

    id: str
    shard: tuple[int, int]
    intents: int
    sharded: bool
    buffer: list[str] = field(default_factory=list)
    connection: Connection | None = None
    resumable: bool = True
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seq(self) -> int:
        """Return the sequence number of the last dispatch."""
        return len(self.buffer)

    def owns(self, guild_id: int | None) -> bool:
        """Return whether a guild's events go to this session's shard (DMs go to shard 0)."""
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id

    def push(self, event: str, data: Json) -> int:
        """Append a dispatch and wake the connection's writer."""
        seq = len(self.buffer) + 1
        self.buffer.append(json.dumps({"op": DISPATCH, "t": event, "s": seq, "d": data}, separators=(",", ":")))
        self.wake.set()
        return seq


@dataclass(eq=False)
class Connection:
    """One websocket connection, attached to at most one session."""

    ws: web.WebSocketResponse
    request: web.Request
    session: Session | None = None
    sent: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    heartbeat_waiters: list[asyncio.Future[None]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None

    async def send(self, payload: Json | str) -> None:
        """Send one text frame, ignoring a connection that is already gone."""
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(text)

    def abort(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure would."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class Gateway:
    """Serves gateway connections and fans dispatches out to the sessions that should get them."""

    def __init__(self, state: SandboxState, *, heartbeat_interval_ms: int = 41250) -> None:
        self.state = state
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.url = ""
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.internal_errors: list[str] = []

    # Fan-out.

    def dispatch(
        self,
        event: str,
        data: Json,
        *,
        guild_id: int | None = None,
        intent: int | None = None,
        dm: bool = False,
        author_id: int | None = None,
        mentions_bot: bool = False,
        guild_create: bool = False,
    ) -> None:
        """Send an event to every session that owns the guild and asked for its intent."""
        needed = self._intent_for(event, dm) if intent is None else intent
        for session in list(self.sessions.values()):
            if not session.resumable or not session.owns(guild_id):
                continue
            if needed and not session.intents & needed:
                continue
            if guild_create and guild_id is not None:
                payload = self.guild_create_payload(self.state.guilds[guild_id], session.intents)
                # A guild joined while connected arrives without `unavailable`, so the client sees a join.
                payload.pop("unavailable")
            elif event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
                payload = self._message_for(session, data, dm=dm, author_id=author_id, mentions_bot=mentions_bot)
            else:
                payload = data
            session.push(event, payload)

    @staticmethod
    def _intent_for(event: str, dm: bool) -> int:
        if event in _MESSAGE_EVENTS:
            return DIRECT_MESSAGES if dm else GUILD_MESSAGES
        return _GUILD_EVENTS.get(event, 0)

    def _message_for(
        self, session: Session, data: Json, *, dm: bool, author_id: int | None, mentions_bot: bool
    ) -> Json:
        # Without the message content intent Discord blanks other people's guild messages.
        if session.intents & MESSAGE_CONTENT or dm or mentions_bot or author_id == self.state.bot.id:
            return data
        stripped = dict(data)
        if "content" in stripped:
            stripped["content"] = ""
        for key in ("embeds", "attachments", "components"):
            if key in stripped:
                stripped[key] = []
        stripped.pop("poll", None)
        return stripped

    def guild_create_payload(self, guild: Guild, intents: int) -> Json:
        """Return the full GUILD_CREATE payload for a guild as a session with these intents sees it."""
        state = self.state
        bot_id = state.bot.id
        in_voice = set(guild.voice_states)
        members = [
            m.payload()
            for uid, m in guild.members.items()
            if intents & GUILD_MEMBERS or uid == bot_id or uid in in_voice
        ]
        channels = [c.payload() for c in guild.channels.values() if not c.is_thread and not c.deleted]
        threads = [
            c.payload() | {"guild_id": str(guild.id)}
            for c in guild.channels.values()
            if c.type in THREAD_TYPES and not c.deleted and not c.archived and state.permissions_in(c, bot_id)
        ]
        data = guild.base_payload()
        data.update(
            {
                "joined_at": guild.members[bot_id].payload()["joined_at"],
                "large": False,
                "unavailable": False,
                "lazy": True,
                "member_count": len(guild.members),
                "members": members,
                "channels": channels,
                "threads": threads,
                "voice_states": [vs.payload() for vs in guild.voice_states.values()],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [e.payload() for e in guild.scheduled_events.values()],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "activity_instances": [],
                "version": 0,
            }
        )
        return data

    # Test controls.

    def live_sessions(self) -> list[Session]:
        """Return sessions that are resumable, connected or not."""
        return [s for s in self.sessions.values() if s.resumable]

    def connected_sessions(self) -> list[Session]:
        """Return sessions with a live connection."""
        return [s for s in self.sessions.values() if s.connection is not None and s.resumable]

    def drop(self, session_ids: list[str] | None = None) -> int:
        """Cut the connections of the given (default all) sessions without a close frame; return how many."""
        dropped = 0
        for session in self.connected_sessions():
            if session_ids is None or session.id in session_ids:
                assert session.connection is not None
                session.connection.abort()
                # Detach now: whatever is dispatched from here on waits in the buffer for RESUME.
                session.connection = None
                dropped += 1
        return dropped

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every connected session, as Discord does before maintenance."""
        for session in self.connected_sessions():
            assert session.connection is not None
            await session.connection.send({"op": RECONNECT, "d": None})

    async def invalidate(self, session_ids: list[str] | None = None) -> None:
        """End sessions with op 9 INVALID_SESSION (not resumable), forcing a fresh IDENTIFY."""
        for session in list(self.sessions.values()):
            if session_ids is None or session.id in session_ids:
                session.resumable = False
                if session.connection is not None:
                    await session.connection.send({"op": INVALID_SESSION, "d": False})

    async def sync(self, *, timeout: float = 5.0) -> None:
        """Wait until every connected client has read everything sent so far (via a requested heartbeat)."""
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for session in self.connected_sessions():
            conn = session.connection
            assert conn is not None
            deadline = loop.time() + timeout
            while conn.sent < len(session.buffer) and loop.time() < deadline and not conn.ws.closed:
                await asyncio.sleep(0.005)
            future: asyncio.Future[None] = loop.create_future()
            conn.heartbeat_waiters.append(future)
            # Discord may ask for a heartbeat at any time; the client answers after handling earlier frames.
            await conn.send({"op": HEARTBEAT, "d": None})
            waits.append(future)
        if waits:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)

    async def close_all(self) -> None:
        """Close every connection cleanly (sandbox shutdown)."""
        for conn in list(self.connections):
            if conn.writer is not None:
                conn.writer.cancel()
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001)

    # Connection handling.

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one websocket connection from HELLO to close."""
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        conn = Connection(ws=ws, request=request)
        self.connections.add(conn)
        try:
            await conn.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    if msg.type is WSMsgType.BINARY:
                        await ws.close(code=4002, message=b"Decode error")
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Decode error")
                    break
                try:
                    await self._on_frame(conn, frame)
                except Exception as exc:
                    log.exception("sandbox gateway: internal error handling op %s", frame.get("op"))
                    self.internal_errors.append(f"gateway op {frame.get('op')}: {exc!r}")
                    await ws.close(code=4000, message=b"Unknown error")
        finally:
            self.connections.discard(conn)
            if conn.writer is not None:
                conn.writer.cancel()
            if conn.session is not None and conn.session.connection is conn:
                session = conn.session
                session.connection = None
                # A clean 1000/1001 close from the client ends the session, as on Discord.
                if ws.close_code in (1000, 1001):
                    session.resumable = False
                log.debug("gateway: session %s disconnected (close code %s)", session.id, ws.close_code)
        return ws

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        data = frame.get("d")
        if op == HEARTBEAT:
            waiters, conn.heartbeat_waiters = conn.heartbeat_waiters, []
            await conn.send({"op": HEARTBEAT_ACK})
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        elif op == IDENTIFY:
            await self._identify(conn, data or {})
        elif op == RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated")
        elif op == REQUEST_GUILD_MEMBERS:
            await self._request_members(conn, data or {})
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            log.debug("gateway: ignoring op %s from the bot", op)
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode")

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        state = self.state
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated")
            return
        if data.get("token") != state.app.token:
            await conn.ws.close(code=4004, message=b"Authentication failed")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~ALL_INTENTS:
            await conn.ws.close(code=4013, message=b"Invalid intent(s)")
            return
        if any(intents & bit and not state.app.flags & flag for bit, flag in PRIVILEGED.items()):
            await conn.ws.close(code=4014, message=b"Disallowed intent(s)")
            return
        shard = data.get("shard")
        sharded = shard is not None
        if shard is None:
            shard = [0, 1]
        if not (isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
            await conn.ws.close(code=4010, message=b"Invalid shard")
            return
        shard_t = (int(shard[0]), int(shard[1]))
        # A fresh IDENTIFY for a shard retires that shard's disconnected sessions.
        for old in list(self.sessions.values()):
            if old.shard == shard_t and old.connection is None:
                del self.sessions[old.id]
        session = Session(id=secrets.token_hex(16), shard=shard_t, intents=intents, sharded=sharded)
        self.sessions[session.id] = session
        self.identify_count += 1
        guilds = [g for g in state.guilds.values() if session.owns(g.id)]
        ready: Json = {
            "v": 10,
            "user": state.bot.payload() | {"verified": True, "mfa_enabled": False, "email": None, "bot": True},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "application": {"id": str(state.app.id), "flags": state.app.flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["sandbox"],
            "user_settings": {},
            "auth": {},
            "_trace": ['["sandbox-gateway",{"micros":0}]'],
        }
        if sharded:
            ready["shard"] = list(shard_t)
        session.push("READY", ready)
        for guild in guilds:
            session.push("GUILD_CREATE", self.guild_create_payload(guild, intents))
        self._attach(conn, session, sent=0)
        log.debug("gateway: IDENTIFY shard %s intents %s -> session %s", shard_t, intents, session.id)

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.state.app.token:
            await conn.ws.close(code=4004, message=b"Authentication failed")
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq") or 0
        if session is None or not session.resumable or not isinstance(seq, int) or seq > session.seq:
            log.debug("gateway: RESUME of %s at %s refused", data.get("session_id"), seq)
            await conn.send({"op": INVALID_SESSION, "d": False})
            return
        if session.connection is not None and session.connection is not conn:
            # Discord drops the older connection of a session that resumes elsewhere.
            session.connection.abort()
        self.resume_count += 1
        session.push("RESUMED", {"_trace": ['["sandbox-gateway",{"micros":0}]']})
        self._attach(conn, session, sent=seq)
        log.debug("gateway: RESUME session %s from seq %s (replaying %s)", session.id, seq, session.seq - seq - 1)

    def _attach(self, conn: Connection, session: Session, *, sent: int) -> None:
        conn.session = session
        conn.sent = sent
        session.connection = conn
        conn.writer = asyncio.create_task(self._write(conn, session), name=f"sandbox-gateway-writer-{session.id}")

    async def _write(self, conn: Connection, session: Session) -> None:
        while session.connection is conn and not conn.ws.closed:
            session.wake.clear()
            while conn.sent < len(session.buffer) and session.connection is conn:
                text = session.buffer[conn.sent]
                conn.sent += 1
                await conn.send(text)
            await session.wake.wait()

    async def _request_members(self, conn: Connection, data: dict[str, Any]) -> None:
        session = conn.session
        assert session is not None
        guild = self.state.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        if not wanted and not session.intents & GUILD_MEMBERS:
            await conn.ws.close(code=4013, message=b"Invalid intent(s)")
            return
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0) or len(guild.members)
        if wanted:
            found = [m for m in guild.members.values() if m.id in wanted]
        else:
            found = [m for m in guild.members.values() if m.user.username.lower().startswith(query)][:limit]
        payload: Json = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in found],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            payload["nonce"] = data["nonce"]
        missing = wanted - {m.id for m in found}
        if missing:
            payload["not_found"] = [str(u) for u in missing]
        session.push("GUILD_MEMBERS_CHUNK", payload)
