"""`/crisis` and `/alert-facilitator`: help for anyone, at any time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.domain.alerts import facilitator_dm, facilitators_post
from bot.domain.discord_ids import alert_take_id, mention_role, mention_user
from bot.services.alerts import RaisedAlert
from cogs.shared import guild_id, reply

if TYPE_CHECKING:
    from bot.client import SmartBot

log = logging.getLogger(__name__)

ALERT_MAX = 500
NOWHERE_TO_ALERT = (
    "I'm sorry: this group has no channel set up where I can alert the facilitators or coordinators, so I "
    "couldn't reach anyone. Please message a facilitator directly (and let them know `/setup` needs finishing). "
    "If you are in danger right now, use `/crisis` for the numbers to call."
)


def take_view(alert_id: int) -> discord.ui.View:
    """Return the view holding an alert's "I'm on it" button (handled by AlertTakeButton)."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(label="I'm on it", custom_id=alert_take_id(alert_id), style=discord.ButtonStyle.danger)
    )
    return view


class Safety(commands.Cog):
    """`/crisis` and `/alert-facilitator`: help for anyone, at any time."""

    def __init__(self, bot: SmartBot) -> None:
        self.bot = bot

    @app_commands.command(name="crisis", description="Where to get help right now")
    @app_commands.guild_only()
    async def crisis(self, interaction: discord.Interaction) -> None:
        """Show the guild's crisis resources privately."""
        settings = await self.bot.services.guild_config.get(guild_id(interaction))
        await reply(interaction, settings.crisis_resources)

    @app_commands.command(name="alert-facilitator", description="Privately ask a facilitator for help")
    @app_commands.describe(
        text="Optional: what is happening (not stored)",
        share_name="Let the facilitators see it's you, so they can contact you (default: anonymous)",
    )
    @app_commands.guild_only()
    async def alert_facilitator(
        self,
        interaction: discord.Interaction,
        text: app_commands.Range[str, 1, ALERT_MAX] | None = None,
        share_name: bool = False,
    ) -> None:
        """Reach the facilitators running the meeting (else the facilitator role); coordinators if nobody takes it."""
        gid = guild_id(interaction)
        settings = await self.bot.services.guild_config.get(gid)
        channel = self.bot.get_channel(settings.facilitators_channel_id or 0)
        reachable = isinstance(channel, discord.TextChannel)
        if not reachable and settings.coordinators_channel_id is None:
            await reply(interaction, NOWHERE_TO_ALERT)
            return
        # Several requests follow (the post, DMs): answer "thinking" first so the member is never left waiting.
        await interaction.response.defer(ephemeral=True, thinking=True)
        alert = await self.bot.services.alerts.raise_alert(gid, interaction.user.id, interaction.channel_id)
        post = None
        if isinstance(channel, discord.TextChannel):
            post = await self._post(channel, alert, interaction, text, share_name)
        else:
            log.warning("Alert %s: the facilitators' channel is not reachable; alerting coordinators now.", alert.id)
            await self.bot.services.alerts.escalate_now(alert.id)
        # The running facilitators are DMed even when the post failed: the DM does not need it.
        reached = await self._dm_facilitators(alert, post, text)
        self.bot.delivery.kick()
        coordinators = settings.coordinators_channel_id is not None
        await reply(
            interaction, self._answer(alert, posted=post is not None, reached=reached, coordinators=coordinators)
        )

    async def _post(
        self,
        channel: discord.TextChannel,
        alert: RaisedAlert,
        interaction: discord.Interaction,
        text: str | None,
        share_name: bool,
    ) -> discord.Message | None:
        """Post the alert in the facilitators' channel, mentioning exactly whom it is for; None if it failed."""
        if alert.facilitator_ids:
            mentions = " ".join(mention_user(user_id) for user_id in alert.facilitator_ids)
            allowed = discord.AllowedMentions(
                everyone=False, roles=False, users=[discord.Object(user_id) for user_id in alert.facilitator_ids]
            )
        elif alert.facilitator_role_id:
            mentions = mention_role(alert.facilitator_role_id)
            allowed = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(alert.facilitator_role_id)]
            )
        else:
            mentions, allowed = "", discord.AllowedMentions.none()
        content = facilitators_post(
            mentions=mentions,
            meeting_title=alert.meeting_title,
            source_channel_id=interaction.channel_id,
            member_mention=interaction.user.mention if share_name else None,
            text=discord.utils.escape_mentions(text) if text else None,
        )
        try:
            message = await channel.send(content, allowed_mentions=allowed, view=take_view(alert.id))
        except discord.HTTPException:
            log.exception("Alert %s could not be posted for the facilitators; alerting coordinators now.", alert.id)
            await self.bot.services.alerts.escalate_now(alert.id)
            return None
        await self.bot.services.alerts.record_post(alert.id, facilitators_message_id=message.id)
        if not alert.facilitator_ids and not message.role_mentions:
            # Discord did not ping the role (it is not mentionable): nobody was reached, so call the coordinators now.
            log.warning("Alert %s: the facilitator role could not be pinged; alerting coordinators now.", alert.id)
            await self.bot.services.alerts.escalate_now(alert.id)
        return message

    async def _dm_facilitators(self, alert: RaisedAlert, post: discord.Message | None, text: str | None) -> int:
        """DM each facilitator running the meeting (busy running it, they may miss the channel); return how many."""
        content = facilitator_dm(
            meeting_title=alert.meeting_title,
            post_url=post.jump_url if post is not None else None,
            text=discord.utils.escape_mentions(text) if text else None,
        )
        reached = 0
        for user_id in alert.facilitator_ids:
            try:
                user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
                await user.send(content, allowed_mentions=discord.AllowedMentions.none())
                reached += 1
            except discord.HTTPException as exc:
                # Closed DMs are common; the mention in the facilitators' channel still reaches them.
                log.info("Alert %s: a facilitator could not be DMed (HTTP %s %s).", alert.id, exc.status, exc.code)
        return reached

    @staticmethod
    def _answer(alert: RaisedAlert, *, posted: bool, reached: int, coordinators: bool) -> str:
        """Return what the member is told: who was alerted, and what happens next."""
        dm = " I've also sent the facilitator running the meeting a private message." if reached else ""
        if not posted and coordinators:
            told = f"I couldn't post in the facilitators' channel, so I've alerted the coordinators.{dm}"
        elif not posted and reached:
            told = "I've sent the facilitator running the meeting a private message."
        elif not posted:
            return NOWHERE_TO_ALERT
        elif alert.facilitator_ids:
            who = "facilitator" if len(alert.facilitator_ids) == 1 else "facilitators"
            told = f"I've alerted the {who} running the meeting"
            told += " by private message and in their channel." if reached else " in their channel."
        else:
            told = "I've alerted the facilitators in their private channel."
        return (
            f"{told} I'll message you privately as soon as someone has it (if your DMs are open). "
            "Thank you for telling us. If you are in danger right now, use `/crisis` for the numbers to call."
        )
