"""The typed outbox payloads: each kind round-trips, and rows written before the types existed still read."""

import json
from datetime import UTC, datetime

import pytest

from bot.delivery.routes import ROUTES
from bot.services.outbox_payloads import (
    AlertEscalate,
    AlertTaken,
    AnnouncementPost,
    AnnouncementReport,
    Button,
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
    PAYLOAD_TYPES,
    Panel,
    PanelEdit,
    WelcomeNote,
    parse_payload,
)

START = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
END = datetime(2026, 3, 3, 20, 30, tzinfo=UTC)
TAKE = Button("Take this shift", "rota:take:7", "success")

EXAMPLES: list[OutboxPayload] = [
    Message("Welcome", venue=True, embeds=({"title": "Working time"},), buttons=(Button("I'm here", "att:here:1"),)),
    Message("Reminder", channel_id=300, ping_role_id=200),
    Panel("Facilitator panel", venue=True, buttons=(Button("Next phase", "mtg:next:1:0", "primary"),)),
    PanelEdit("Facilitator panel · meeting ended"),
    Cover(assignment_id=7, channel_id=301, content="Cover needed", buttons=(TAKE,)),
    CoverEdit(assignment_id=7, content="Covered"),
    OpenVenue(channel_id=300, name="SMART · 2026-03-03", anchor="Starting now"),
    OpenVenue(channel_id=300, name="SMART"),
    CloseVenue(),
    Notify("meeting_started"),
    DirectMessage("Can you make it?", user_id=9, channel_id=301, buttons=(Button("Confirm", "rota:confirm:7"),)),
    DirectMessage("Good news", user_id=9),
    EventCreate("SMART", "A meeting", START, END, entity_type=2, channel_id=400),
    EventEdit("SMART", "A meeting", START, END, entity_type=3, location="https://discord.com/channels/1/400"),
    EventStatus(4),
    AlertEscalate(alert_id=5, minutes=3),
    AlertTaken(alert_id=5, taken_by=9),
    AnnouncementPost(target_id=4),
    AnnouncementReport(announcement_id=2),
    NetworkQuestion(3, 77, "**A** asks: hi?", (Button("Reply", "network:reply:3", "primary"),)),
    NetworkAnswer(3, "**B** replied:\nhello"),
    InviteDelete(route_id=2, channel_id=300, code="AbCdEf1234"),
    WelcomeNote(channel_id=300, content="**New here?** Welcome."),
]

# Rows as the code wrote them before the payloads were typed (`enqueue(session, now, guild, kind, payload)`).
TODAYS_ROWS: list[tuple[str, str, OutboxPayload]] = [
    (
        "message",
        (
            '{"venue": true, "content": "Working time", "embeds": [{"title": "Working time: ABC"}], '
            '"buttons": [{"label": "Work through it (private)", "custom_id": "tool:work:abc", "style": "success"}]}'
        ),
        Message(
            "Working time",
            venue=True,
            embeds=({"title": "Working time: ABC"},),
            buttons=(Button("Work through it (private)", "tool:work:abc", "success"),),
        ),
    ),
    (
        "message",
        '{"channel_id": 300, "content": "<@&200> Reminder", "ping_role_id": 200}',
        Message("<@&200> Reminder", channel_id=300, ping_role_id=200),
    ),
    (
        "panel",
        (
            '{"venue": true, "content": "Panel", "buttons": [{"label": "Next phase", "custom_id": "mtg:next:1:0", '
            '"style": "primary"}]}'
        ),
        Panel("Panel", venue=True, buttons=(Button("Next phase", "mtg:next:1:0", "primary"),)),
    ),
    ("panel_edit", '{"venue": true, "content": "Ended", "buttons": []}', PanelEdit("Ended")),
    (
        "cover",
        (
            '{"assignment_id": 7, "channel_id": 301, "content": "Cover needed", '
            '"buttons": [{"label": "Take this shift", "custom_id": "rota:take:7", "style": "success"}]}'
        ),
        Cover(7, 301, "Cover needed", (TAKE,)),
    ),
    ("cover_edit", '{"assignment_id": 7, "content": "Covered"}', CoverEdit(7, "Covered")),
    (
        "open_venue",
        '{"channel_id": 300, "name": "SMART · 2026-03-03", "anchor": "Starting"}',
        OpenVenue(300, "SMART · 2026-03-03", "Starting"),
    ),
    ("close_venue", "{}", CloseVenue()),
    ("notify", '{"event": "meeting_closed"}', Notify("meeting_closed")),
    (
        "dm",
        '{"user_id": 9, "channel_id": null, "content": "3 minutes left"}',
        DirectMessage("3 minutes left", user_id=9),
    ),
    (
        "event_create",
        (
            '{"name": "SMART", "description": "A meeting", "start": "2026-03-03T19:00:00+00:00", '
            '"end": "2026-03-03T20:30:00+00:00", "entity_type": 1, "channel_id": 401}'
        ),
        EventCreate("SMART", "A meeting", START, END, entity_type=1, channel_id=401),
    ),
    (
        "event_edit",
        (
            '{"name": "SMART", "description": "A meeting", "start": "2026-03-03T19:00:00+00:00", '
            '"end": "2026-03-03T20:30:00+00:00", "entity_type": 3, "location": "https://discord.com/channels/1/400"}'
        ),
        EventEdit("SMART", "A meeting", START, END, entity_type=3, location="https://discord.com/channels/1/400"),
    ),
    ("event_status", '{"status": 3}', EventStatus(3)),
    ("alert_escalate", '{"alert_id": 5, "minutes": 3}', AlertEscalate(5, 3)),
    ("alert_taken", '{"alert_id": 5, "taken_by": 9}', AlertTaken(5, 9)),
    ("announcement_post", '{"target_id": 4}', AnnouncementPost(4)),
    ("announcement_report", '{"announcement_id": 2}', AnnouncementReport(2)),
    (
        "network_question",
        (
            '{"question_id": 3, "channel_id": 77, "content": "q",'
            ' "buttons": [{"label": "Reply", "custom_id": "network:reply:3", "style": "primary"}]}'
        ),
        NetworkQuestion(3, 77, "q", (Button("Reply", "network:reply:3", "primary"),)),
    ),
    ("network_answer", '{"question_id": 3, "content": "a"}', NetworkAnswer(3, "a")),
    ("invite_delete", '{"route_id": 2, "channel_id": 300, "code": "AbC"}', InviteDelete(2, 300, "AbC")),
    ("welcome_note", '{"channel_id": 300, "content": "New here?"}', WelcomeNote(300, "New here?")),
]


@pytest.mark.parametrize("payload", EXAMPLES, ids=lambda payload: payload.kind)
def test_each_kind_round_trips_through_its_stored_json(payload: OutboxPayload) -> None:
    stored = json.loads(json.dumps(payload.to_json()))
    assert parse_payload(payload.kind, stored) == payload


@pytest.mark.parametrize(("kind", "row", "expected"), TODAYS_ROWS, ids=[kind for kind, _, _ in TODAYS_ROWS])
def test_a_row_written_in_the_untyped_format_reads_as_its_kind(kind: str, row: str, expected: OutboxPayload) -> None:
    assert parse_payload(kind, json.loads(row)) == expected


@pytest.mark.parametrize(("kind", "row", "expected"), TODAYS_ROWS, ids=[kind for kind, _, _ in TODAYS_ROWS])
def test_the_typed_payload_writes_the_keys_rows_always_had(kind: str, row: str, expected: OutboxPayload) -> None:
    written = expected.to_json()
    assert set(written) <= set(json.loads(row))
    assert {key: value for key, value in json.loads(row).items() if value is not None} == written


def test_every_kind_is_covered_here_and_has_exactly_one_route() -> None:
    assert {payload.kind for payload in EXAMPLES} == set(PAYLOAD_TYPES)
    assert {kind for kind, _, _ in TODAYS_ROWS} == set(PAYLOAD_TYPES)
    assert set(ROUTES) == set(PAYLOAD_TYPES)
    assert all(route.payload_type is PAYLOAD_TYPES[kind] for kind, route in ROUTES.items())


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(LookupError, match="unknown outbox kind"):
        parse_payload("carrier_pigeon", {})
