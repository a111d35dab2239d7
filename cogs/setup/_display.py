"""How `/setup` shows a group's settings, and the staff roles' pingability it reports and fixes."""

from __future__ import annotations

import logging

import discord

from bot.domain.discord_ids import mention_channel, mention_role
from bot.domain.group_settings import GroupTimings, describe_reminders
from bot.domain.guild import FIELD_LABELS, GuildSettings
from bot.domain.meeting_format import DEFAULT_HAT_TEXT
from bot.domain.text import plural, split_text

log = logging.getLogger(__name__)

NOT_SET = "*not set*"
FIELD_VALUE_LIMIT = 1024


def _channel(value: int | None) -> str:
    return mention_channel(value) if value else NOT_SET


def _role(value: int | None) -> str:
    return mention_role(value) if value else NOT_SET


def with_crisis_note(text: str, settings: GuildSettings) -> str:
    """Add the request for local crisis resources to `text` while a group outside the UK shows the UK default."""
    if not settings.crisis_text_needs_local_resources:
        return text
    note = (
        f"**Crisis resources:** your time zone is {settings.timezone}, but the default crisis resources are for "
        "the UK (999, NHS 111, UK helplines). Please set the numbers members near you can call with "
        "`/setup crisis-text`."
    )
    return f"{text}\n\n{note}".strip()


def _hat(settings: GuildSettings) -> str:
    if not settings.pass_the_hat_enabled:
        return "Off (switch it on with `/setup pass-the-hat`)"
    return f"On: {settings.pass_the_hat_text or DEFAULT_HAT_TEXT}"


def crisis_fields(embed: discord.Embed, settings: GuildSettings) -> None:
    """Add the crisis text to `embed`, continuing in further fields when it is longer than one field holds."""
    default_note = "" if settings.crisis_text else " (default)"
    for number, piece in enumerate(split_text(settings.crisis_resources, FIELD_VALUE_LIMIT)):
        name = f"Crisis resources{default_note}" if number == 0 else "Crisis resources (continued)"
        embed.add_field(name=name, value=piece, inline=False)


def timings_fields(embed: discord.Embed, timings: GroupTimings) -> None:
    """Add the group's timings (set with `/setup settings`) to `embed`."""
    embed.add_field(name="Reminders", value=describe_reminders(timings.reminder_offsets), inline=True)
    embed.add_field(name="Late-start grace", value=f"{plural(timings.late_start_grace_minutes, 'minute')}", inline=True)
    embed.add_field(
        name="Rota",
        value=(
            f"Confirm {plural(timings.rota_confirm_hours, 'hour')} before; coordinators told "
            f"{plural(timings.rota_escalate_hours, 'hour')} before if unconfirmed"
        ),
        inline=True,
    )


def settings_embed(settings: GuildSettings, timings: GroupTimings | None = None) -> discord.Embed:
    """Show every setting, marking the ones still missing."""
    embed = discord.Embed(title="Group setup", colour=discord.Colour.teal())
    embed.add_field(name="Time zone", value=settings.timezone or NOT_SET, inline=True)
    embed.add_field(name="Meetings channel", value=_channel(settings.meetings_channel_id), inline=True)
    embed.add_field(name="Facilitators' channel", value=_channel(settings.facilitators_channel_id), inline=True)
    embed.add_field(name="Coordinators' channel", value=_channel(settings.coordinators_channel_id), inline=True)
    embed.add_field(name="Facilitator role", value=_role(settings.facilitator_role_id), inline=True)
    embed.add_field(name="Coordinator role", value=_role(settings.coordinator_role_id), inline=True)
    embed.add_field(name="Reminder role (opt-in)", value=_role(settings.reminder_role_id), inline=True)
    # A custom text may be longer than one field holds (1024 characters): it continues in the next field.
    crisis_fields(embed, settings)
    embed.add_field(name="Pass the hat", value=_hat(settings), inline=False)
    if timings is not None:
        timings_fields(embed, timings)
    missing = settings.missing(*FIELD_LABELS)
    if missing:
        embed.set_footer(text=f"Still to set with /setup start or /setup configure: {', '.join(missing)}.")
    return embed


def unpingable_staff_roles(guild: discord.Guild | None, settings: GuildSettings) -> list[str]:
    """Return the facilitator and coordinator roles an alert could not ping (Discord pings mentionable roles)."""
    if guild is None:
        return []
    roles = [guild.get_role(role_id or 0) for role_id in (settings.facilitator_role_id, settings.coordinator_role_id)]
    return [role.mention for role in roles if role is not None and not role.mentionable]


async def make_pingable(roles: list[discord.Role]) -> str:
    """Make the staff roles mentionable, so an alert's ping reaches them; return a warning for any it could not."""
    stuck = []
    for role in roles:
        if role.mentionable:
            continue
        try:
            # Discord only pings a role that is mentionable: an alert to facilitators must ping them.
            await role.edit(mentionable=True, reason="So the bot's alerts and reminders can ping this role")
        except discord.HTTPException:
            log.info("Could not make role %s mentionable.", role.id)
            stuck.append(role.mention)
    if not stuck:
        return ""
    return (
        f"⚠️ I could not make {', '.join(stuck)} mentionable, so alerts cannot ping it. In Server Settings → Roles, "
        'turn on "Allow anyone to @mention this role", or move my role above it.'
    )
