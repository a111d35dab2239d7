"""The group plan: what set-up creates or adopts, what the check reports, and the fix it gives, in plain words."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.server_setup import (
    BOT,
    CHANNELS,
    COORDINATORS_CHANNEL,
    ChannelFacts,
    EVERYONE,
    Existing,
    FACILITATORS_CHANNEL,
    FACILITATOR_ROLE,
    ItemKind,
    MEETINGS_CHANNEL,
    PLAN,
    REMINDER_ROLE,
    RoleFacts,
    ServerFacts,
    VOICE_CHANNEL,
    check_server,
    describe_findings,
    invite_permission_names,
    overwrites_for,
    plan_setup,
    same_name,
    welcome_text,
)
from bot.permissions import BOT_PERMISSIONS, permission_names

EVERYTHING = frozenset(invite_permission_names())


def ready() -> ServerFacts:
    """Return the facts of a server that is fully set up."""
    channels = tuple(ChannelFacts(item.key, item.name, bot_has=frozenset(item.bot_needs)) for item in CHANNELS)
    roles = tuple(RoleFacts(item.key, item.name) for item in PLAN if item.kind is ItemKind.ROLE)
    return ServerFacts("SMART Bot", EVERYTHING, channels=channels, roles=roles)


def with_channel(facts: ServerFacts, key: str, **changes: object) -> ServerFacts:
    channels = tuple(replace(c, **changes) if c.key == key else c for c in facts.channels)  # type: ignore[arg-type]
    return replace(facts, channels=channels)


def with_role(facts: ServerFacts, key: str, **changes: object) -> ServerFacts:
    roles = tuple(replace(r, **changes) if r.key == key else r for r in facts.roles)  # type: ignore[arg-type]
    return replace(facts, roles=roles)


def test_the_invite_asks_for_what_the_plan_needs_and_nothing_more() -> None:
    assert permission_names(BOT_PERMISSIONS) == EVERYTHING
    assert {
        "view_channel",
        "send_messages",
        "send_messages_in_threads",
        "create_public_threads",
        "manage_threads",
        "embed_links",
        "attach_files",
        "read_message_history",
        "manage_events",
        "manage_roles",
        "manage_channels",
        "connect",
    } == EVERYTHING
    assert not BOT_PERMISSIONS.administrator and not BOT_PERMISSIONS.mention_everyone
    # Overwrites may only grant what the bot has itself (Discord refuses others).
    for item in CHANNELS:
        for overwrite in overwrites_for(item):
            assert set(overwrite.allow) | set(overwrite.deny) <= EVERYTHING


def test_private_channels_hide_from_everyone_and_show_their_roles_and_the_bot() -> None:
    assert overwrites_for(MEETINGS_CHANNEL) == () and overwrites_for(VOICE_CHANNEL) == ()
    targets = {o.target: o for o in overwrites_for(COORDINATORS_CHANNEL)}
    assert set(targets) == {EVERYONE, BOT, "coordinator_role_id"}
    assert targets[EVERYONE].deny == ("view_channel",)
    assert "view_channel" in targets["coordinator_role_id"].allow and "view_channel" in targets[BOT].allow
    assert {o.target for o in overwrites_for(FACILITATORS_CHANNEL)} >= {"facilitator_role_id", "coordinator_role_id"}


def test_set_up_adopts_saved_things_first_then_by_name_and_creates_the_rest() -> None:
    existing = [
        Existing(1, "Meetings", ItemKind.TEXT),
        Existing(2, "our-meetings", ItemKind.TEXT),
        Existing(3, "meeting_room", ItemKind.VOICE),
        Existing(4, "facilitator", ItemKind.ROLE),
        Existing(5, "Meeting reminders", ItemKind.TEXT),  # a channel, not the role of that name
        Existing(6, "facilitators", ItemKind.VOICE),  # a voice channel, not the facilitators' channel
    ]
    plan = plan_setup({"meetings_channel_id": 2}, existing)
    used = {step.item.key: step.existing_id for step in plan.to_adopt}
    assert used == {"meetings_channel_id": 2, "voice_channel": 3, "facilitator_role_id": 4}
    assert {step.item.key for step in plan.to_create} == {
        "coordinator_role_id",
        "reminder_role_id",
        "facilitators_channel_id",
        "coordinators_channel_id",
    }
    # A saved id that is gone falls back to the name; nothing is used for two things.
    again = plan_setup({"facilitator_role_id": 99, "coordinator_role_id": 4}, existing)
    adopted = {step.item.key: step.existing_id for step in again.to_adopt}
    assert adopted["facilitator_role_id"] == 4 and "coordinator_role_id" not in adopted
    assert same_name("#Meeting-Room", "meeting room") and not same_name("meetings", "meeting")


def test_a_ready_server_has_no_findings() -> None:
    assert check_server(ready()) == []
    assert describe_findings([]).startswith("✅ Everything is ready")


def test_a_permission_missing_everywhere_is_given_to_the_bot_s_role() -> None:
    facts = replace(ready(), bot_permissions=EVERYTHING - {"manage_events"})
    facts = with_channel(facts, "voice_channel", name="Meeting room", bot_has=frozenset({"view_channel", "connect"}))
    [finding] = check_server(facts)
    assert finding.problem == "I lack 'Manage Events' in #Meeting room (voice channel for meetings)."
    assert finding.fix == "Give the bot's role 'SMART Bot' 'Manage Events' in Server Settings → Roles."


def test_a_permission_denied_in_one_channel_is_allowed_there() -> None:
    needs = frozenset(MEETINGS_CHANNEL.bot_needs) - {"send_messages", "create_public_threads"}
    [finding] = check_server(with_channel(ready(), "meetings_channel_id", bot_has=needs))
    denied = "'Send Messages' and 'Create Public Threads'"
    assert finding.problem == f"#meetings's own permissions deny me {denied} (meetings channel)."
    assert finding.fix.startswith("In #meetings → Edit Channel → Permissions, allow 'Send Messages' and")


def test_server_wide_role_management_is_needed() -> None:
    [finding] = check_server(replace(ready(), bot_permissions=EVERYTHING - {"manage_roles"}))
    assert "'Manage Roles'" in finding.problem and finding.fix.startswith("Give the bot's role 'SMART Bot'")


def test_roles_above_the_bot_or_not_mentionable_are_named_with_their_fix() -> None:
    [above] = check_server(with_role(ready(), REMINDER_ROLE.key, above_bot=True))
    assert above.fix == "Drag the bot's role 'SMART Bot' above 'Meeting reminders' in Server Settings → Roles."
    [quiet] = check_server(with_role(ready(), FACILITATOR_ROLE.key, mentionable=False))
    assert quiet.problem == "Alerts and cover requests can't ping 'Facilitator': it isn't mentionable."
    assert quiet.fix.startswith("Run `/setup start` again (I'll make it mentionable)")
    both = check_server(with_role(ready(), REMINDER_ROLE.key, above_bot=True, mentionable=False))
    assert [f.problem.split(":")[0] for f in both] == [
        "I can't give members 'Meeting reminders'",
        "Reminders can't ping 'Meeting reminders'",
    ]
    assert both[1].fix.startswith("Drag the bot's role 'SMART Bot' above 'Meeting reminders'")


def test_public_staff_channels_and_gone_things_and_missing_settings() -> None:
    facts = with_channel(ready(), FACILITATORS_CHANNEL.key, everyone_can_view=True, roles_without_view=("Coordinator",))
    facts = with_channel(facts, COORDINATORS_CHANNEL.key, exists=False)
    facts = with_role(facts, REMINDER_ROLE.key, exists=False)
    facts = replace(facts, missing_settings=("time zone", "reminder role"))
    problems = [finding.problem for finding in check_server(facts)]
    assert problems == [
        "The group's time zone is not set yet, so meeting times can't be read.",
        "Not set yet: reminder role.",
        "Everyone can see #facilitators, the facilitators' channel, which should be private.",
        "'Coordinator' can't see #facilitators, the facilitators' channel.",
        "The coordinators' channel saved in set-up no longer exists.",
        "The reminder role saved in set-up no longer exists.",
    ]
    text = describe_findings(check_server(facts))
    assert text.startswith("⚠️ 6 things need fixing:\n1. The group's time zone")
    assert "\n   → In #facilitators → Edit Channel → Permissions, allow 'View Channel' for 'Coordinator'." in text


def test_the_welcome_gives_three_steps_and_the_command_and_says_why_it_came_by_dm() -> None:
    posted = welcome_text("Group", by_dm=False)
    assert "Three steps" in posted and "`/setup start`" in posted and len(posted) <= 2000
    assert "sponsor" not in posted.lower() and "addict" not in posted.lower()
    direct = welcome_text("Leeds SMART", by_dm=True)
    assert direct.startswith("You added me to **Leeds SMART**") and direct.endswith(posted)
