"""The one place each outbox kind is given its payload type and its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TYPE_CHECKING, TypeVar

from bot.delivery import alerts, events, messages, office, referral
from bot.delivery.errors import PermanentDeliveryError
from bot.services.outbox import OutboxItem
from bot.services.outbox_payloads import (
    AlertEscalate,
    AlertTaken,
    AnnouncementPost,
    AnnouncementReport,
    CloseVenue,
    Cover,
    CoverEdit,
    DirectMessage,
    EventCreate,
    EventEdit,
    EventStatus,
    InviteDelete,
    Message,
    NetworkAnswer,
    NetworkQuestion,
    Notify,
    OpenVenue,
    OutboxPayload,
    Panel,
    PanelEdit,
    WelcomeNote,
)

if TYPE_CHECKING:
    from bot.delivery.delivery import Delivery

P = TypeVar("P", bound=OutboxPayload)


@dataclass(frozen=True)
class Route(Generic[P]):
    """How one kind is delivered: read its payload, make the Discord calls, record what they made."""

    payload_type: type[P]
    # Returns the id of what it made (a message, a thread, an event), recorded on the row and its meeting.
    handle: Callable[[Delivery, OutboxItem, P], Awaitable[int | None]]
    # Records that id where the kind's own service keeps it (a cover request on its duty, say).
    record: Callable[[Delivery, P, int], Awaitable[None]] | None = None

    async def deliver(self, delivery: Delivery, item: OutboxItem) -> int | None:
        """Make the Discord calls of `item`; return the id of what they made, if anything."""
        return await self.handle(delivery, item, self.payload_type.from_json(item.payload))

    async def delivered(self, delivery: Delivery, item: OutboxItem, result: int) -> None:
        """Record what a delivered `item` made, where its kind keeps it."""
        if self.record is not None:
            await self.record(delivery, self.payload_type.from_json(item.payload), result)


ROUTES: dict[str, Route[Any]] = {
    route.payload_type.kind: route
    for route in (
        Route(Message, messages.send_message),
        Route(Panel, messages.send_message),
        Route(PanelEdit, messages.edit_panel),
        Route(Cover, messages.send_cover, record=messages.record_cover),
        Route(CoverEdit, messages.edit_cover),
        Route(OpenVenue, messages.open_venue),
        Route(CloseVenue, messages.close_venue),
        Route(Notify, messages.notify),
        Route(DirectMessage, messages.direct_message),
        Route(EventCreate, events.create_event),
        Route(EventEdit, events.edit_event),
        Route(EventStatus, events.set_event_status),
        Route(AlertEscalate, alerts.escalate, record=alerts.record_escalation),
        Route(AlertTaken, alerts.show_taken),
        Route(InviteDelete, referral.delete_invite),
        Route(WelcomeNote, referral.post_welcome_note),
        Route(AnnouncementPost, office.post_announcement),
        Route(AnnouncementReport, office.show_announcement_report),
        Route(NetworkQuestion, office.post_question, record=office.record_question),
        Route(NetworkAnswer, office.post_answer),
    )
}


def route_of(kind: str) -> Route[Any]:
    """Return the route of `kind`; an item of a kind this code does not know is given up."""
    try:
        return ROUTES[kind]
    except KeyError:
        raise PermanentDeliveryError(f"unknown outbox kind {kind}") from None
