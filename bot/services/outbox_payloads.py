"""What the outbox stores: one typed payload per kind of Discord side effect.

Services build these and `enqueue` stores them as JSON; delivery reads them back with `parse_payload` and hands
each to the one handler of its kind (`bot/delivery/routes.py`). The JSON keys are the ones rows have always been
written with, so rows written before these types existed are read the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from bot.domain.discord_ids import EntityType, ScheduledEventStatus

ButtonStyle = Literal["primary", "secondary", "success", "danger"]
Json = dict[str, Any]


@dataclass(frozen=True)
class Button:
    """A button on a posted message; its custom_id tells the cog's dynamic item what it acts on."""

    label: str
    custom_id: str
    style: ButtonStyle = "secondary"

    def to_json(self) -> Json:
        """Return the button as stored."""
        return {"label": self.label, "custom_id": self.custom_id, "style": self.style}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored button."""
        return cls(str(data["label"]), str(data["custom_id"]), data.get("style", "secondary"))


def _buttons(data: Mapping[str, Any]) -> tuple[Button, ...]:
    return tuple(Button.from_json(spec) for spec in data.get("buttons") or ())


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _without_empty(pairs: Mapping[str, Any]) -> Json:
    """Leave out what is unset, as rows were always written: a key is there only when it says something."""
    return {key: value for key, value in pairs.items() if value is not None and value is not False and value != []}


class OutboxPayload(ABC):
    """One kind of side effect: `kind` names it in the outbox row, the rest is its JSON payload."""

    kind: ClassVar[str]

    @abstractmethod
    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""

    @classmethod
    @abstractmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""


@dataclass(frozen=True)
class Message(OutboxPayload):
    """Post a message in a channel, or (`venue`) in the meeting's thread."""

    kind: ClassVar[str] = "message"

    content: str
    channel_id: int | None = None
    venue: bool = False
    embeds: tuple[Json, ...] = ()
    buttons: tuple[Button, ...] = ()
    # The one role a post may ping (a reminder to the members who asked for one); every other mention stays silent.
    ping_role_id: int | None = None

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return _without_empty(
            {
                "venue": self.venue,
                "channel_id": self.channel_id,
                "content": self.content,
                "embeds": list(self.embeds),
                "buttons": [button.to_json() for button in self.buttons],
                "ping_role_id": self.ping_role_id,
            }
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(
            content=str(data["content"]),
            channel_id=_optional_int(data.get("channel_id")),
            venue=bool(data.get("venue")),
            embeds=tuple(data.get("embeds") or ()),
            buttons=_buttons(data),
            ping_role_id=_optional_int(data.get("ping_role_id")),
        )


@dataclass(frozen=True)
class Panel(Message):
    """Post the facilitator panel in the meeting's thread (its message id is recorded on the meeting)."""

    kind: ClassVar[str] = "panel"


@dataclass(frozen=True)
class PanelEdit(OutboxPayload):
    """Show the panel's new phase and buttons (none once the meeting has ended)."""

    kind: ClassVar[str] = "panel_edit"

    content: str
    buttons: tuple[Button, ...] = ()

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"venue": True, "content": self.content, "buttons": [button.to_json() for button in self.buttons]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(str(data["content"]), _buttons(data))


@dataclass(frozen=True)
class Cover(OutboxPayload):
    """Ask the facilitators' channel for cover of a duty (its message id is recorded on the duty)."""

    kind: ClassVar[str] = "cover"

    assignment_id: int
    channel_id: int
    content: str
    buttons: tuple[Button, ...] = ()

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return _without_empty(
            {
                "assignment_id": self.assignment_id,
                "channel_id": self.channel_id,
                "content": self.content,
                "buttons": [button.to_json() for button in self.buttons],
            }
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["assignment_id"]), int(data["channel_id"]), str(data["content"]), _buttons(data))


@dataclass(frozen=True)
class CoverEdit(OutboxPayload):
    """Show a cover request as taken, without its button."""

    kind: ClassVar[str] = "cover_edit"

    assignment_id: int
    content: str

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"assignment_id": self.assignment_id, "content": self.content}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["assignment_id"]), str(data["content"]))


@dataclass(frozen=True)
class OpenVenue(OutboxPayload):
    """Open the meeting's thread from an anchor message in `channel_id`."""

    kind: ClassVar[str] = "open_venue"

    channel_id: int
    name: str
    anchor: str | None = None

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return _without_empty({"channel_id": self.channel_id, "name": self.name, "anchor": self.anchor})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["channel_id"]), str(data["name"]), data.get("anchor"))


@dataclass(frozen=True)
class CloseVenue(OutboxPayload):
    """Lock and archive the meeting's thread."""

    kind: ClassVar[str] = "close_venue"

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls()


MeetingEvent = Literal["meeting_started", "meeting_closed"]


@dataclass(frozen=True)
class Notify(OutboxPayload):
    """Dispatch a meeting's life-cycle event to the cogs listening for it (participation counting, the rota)."""

    kind: ClassVar[str] = "notify"

    event: MeetingEvent

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"event": self.event}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(data["event"])


@dataclass(frozen=True)
class DirectMessage(OutboxPayload):
    """DM someone; when their DMs are closed, post in `channel_id` (if any) mentioning them instead."""

    kind: ClassVar[str] = "dm"

    content: str
    user_id: int | None = None
    channel_id: int | None = None
    buttons: tuple[Button, ...] = ()

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return _without_empty(
            {
                "user_id": self.user_id,
                "channel_id": self.channel_id,
                "content": self.content,
                "buttons": [button.to_json() for button in self.buttons],
            }
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(
            content=str(data["content"]),
            user_id=_optional_int(data.get("user_id")),
            channel_id=_optional_int(data.get("channel_id")),
            buttons=_buttons(data),
        )


@dataclass(frozen=True)
class EventCreate(OutboxPayload):
    """Create the scheduled event that mirrors a meeting: in its voice or stage channel, or (external) at a link."""

    kind: ClassVar[str] = "event_create"

    name: str
    description: str
    start: datetime
    end: datetime
    entity_type: EntityType
    channel_id: int | None = None
    location: str | None = None

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return _without_empty(
            {
                "name": self.name,
                "description": self.description,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "entity_type": int(self.entity_type),
                "channel_id": self.channel_id,
                "location": self.location,
            }
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(
            name=str(data["name"]),
            description=str(data["description"]),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            entity_type=EntityType(int(data["entity_type"])),
            channel_id=_optional_int(data.get("channel_id")),
            location=data.get("location"),
        )


@dataclass(frozen=True)
class EventEdit(EventCreate):
    """Bring a meeting's scheduled event in line with its edited series."""

    kind: ClassVar[str] = "event_edit"


@dataclass(frozen=True)
class EventStatus(OutboxPayload):
    """Move a meeting's scheduled event to `status` (active, completed, cancelled)."""

    kind: ClassVar[str] = "event_status"

    status: ScheduledEventStatus

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"status": int(self.status)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(ScheduledEventStatus(int(data["status"])))


@dataclass(frozen=True)
class AlertEscalate(OutboxPayload):
    """Call the coordinators to an alert no facilitator took in time."""

    kind: ClassVar[str] = "alert_escalate"

    alert_id: int
    minutes: int = 0

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"alert_id": self.alert_id, "minutes": self.minutes}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["alert_id"]), int(data.get("minutes", 0)))


@dataclass(frozen=True)
class AlertTaken(OutboxPayload):
    """Show on every post of an alert who took it, and remove its button."""

    kind: ClassVar[str] = "alert_taken"

    alert_id: int
    taken_by: int

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"alert_id": self.alert_id, "taken_by": self.taken_by}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["alert_id"]), int(data["taken_by"]))


@dataclass(frozen=True)
class AnnouncementPost(OutboxPayload):
    """Post an office announcement in one group's channel (the target row holds the text, file and channel)."""

    kind: ClassVar[str] = "announcement_post"

    target_id: int

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"target_id": self.target_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["target_id"]))


@dataclass(frozen=True)
class AnnouncementReport(OutboxPayload):
    """Post or refresh an announcement's delivery report in the office's channel."""

    kind: ClassVar[str] = "announcement_report"

    announcement_id: int

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"announcement_id": self.announcement_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["announcement_id"]))


@dataclass(frozen=True)
class NetworkQuestion(OutboxPayload):
    """Post a group's question in the network channel, with its Reply button (its message id goes on the question)."""

    kind: ClassVar[str] = "network_question"

    question_id: int
    channel_id: int
    content: str
    buttons: tuple[Button, ...] = ()

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {
            "question_id": self.question_id,
            "channel_id": self.channel_id,
            "content": self.content,
            "buttons": [button.to_json() for button in self.buttons],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["question_id"]), int(data["channel_id"]), str(data["content"]), _buttons(data))


@dataclass(frozen=True)
class NetworkAnswer(OutboxPayload):
    """Show a reply under its question in the network channel (in the question's thread)."""

    kind: ClassVar[str] = "network_answer"

    question_id: int
    content: str

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"question_id": self.question_id, "content": self.content}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["question_id"]), str(data["content"]))


@dataclass(frozen=True)
class InviteDelete(OutboxPayload):
    """Delete a retired referral route's invite, after a last read of its use count."""

    kind: ClassVar[str] = "invite_delete"

    route_id: int
    channel_id: int
    code: str

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"route_id": self.route_id, "channel_id": self.channel_id, "code": self.code}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["route_id"]), int(data["channel_id"]), str(data["code"]))


@dataclass(frozen=True)
class WelcomeNote(OutboxPayload):
    """Post and pin the group's "New here?" note in its welcome channel, or edit the one already there."""

    kind: ClassVar[str] = "welcome_note"

    channel_id: int
    content: str

    def to_json(self) -> Json:
        """Return the payload as stored in the outbox row."""
        return {"channel_id": self.channel_id, "content": self.content}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read a stored payload."""
        return cls(int(data["channel_id"]), str(data["content"]))


PAYLOAD_TYPES: dict[str, type[OutboxPayload]] = {
    payload.kind: payload
    for payload in (
        Message,
        Panel,
        PanelEdit,
        Cover,
        CoverEdit,
        OpenVenue,
        CloseVenue,
        Notify,
        DirectMessage,
        EventCreate,
        EventEdit,
        EventStatus,
        AlertEscalate,
        AlertTaken,
        AnnouncementPost,
        AnnouncementReport,
        NetworkQuestion,
        NetworkAnswer,
        InviteDelete,
        WelcomeNote,
    )
}


def parse_payload(kind: str, data: Mapping[str, Any]) -> OutboxPayload:
    """Read a stored payload of `kind`; raise LookupError for a kind this code does not know."""
    try:
        payload_type = PAYLOAD_TYPES[kind]
    except KeyError:
        raise LookupError(f"unknown outbox kind {kind}") from None
    return payload_type.from_json(data)
