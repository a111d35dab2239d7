"""What an alert to the facilitators says: plain text, built the same way for every post."""

from __future__ import annotations

from datetime import datetime

from bot.domain.discord_ids import mention_channel, mention_user, timestamp

# Lines of an alert post that describe the member's call (who, and what they wrote); escalation repeats them.
BODY_PREFIXES = ("From:", "> ")


def quote(text: str) -> str:
    """Return the member's words as a block quote, one quoted line per line."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


def facilitators_post(
    *,
    mentions: str,
    meeting_title: str | None,
    source_channel_id: int | None,
    member_mention: str | None,
    text: str | None,
) -> str:
    """Return the alert posted in the facilitators' channel."""
    where = f" during **{meeting_title}**" if meeting_title else ""
    source = f", from {mention_channel(source_channel_id)}" if source_channel_id else ""
    lines = [f"🚨 {mentions + ' ' if mentions else ''}A member asked for a facilitator's attention{where}{source}."]
    lines.append(f"From: {member_mention}" if member_mention else "From: a member who chose to stay anonymous.")
    if text:
        lines.append(quote(text))
    lines.append("Press **I'm on it** if you are taking it: the member is told privately that someone has it.")
    return "\n".join(lines)


def facilitator_dm(*, meeting_title: str | None, post_url: str | None, text: str | None) -> str:
    """Return the DM sent to each facilitator running the meeting."""
    where = f" in **{meeting_title}**" if meeting_title else ""
    lines = [f"🚨 A member asked for a facilitator's attention{where}."]
    if text:
        lines.append(quote(text))
    if post_url:
        lines.append(f"Take it with **I'm on it** here: {post_url}")
    return "\n".join(lines)


def escalation_post(*, role_mention: str | None, minutes: int, raised_at: datetime, body: str) -> str:
    """Return the alert posted in the coordinators' channel when no facilitator took it in time."""
    who = f"{role_mention} " if role_mention else ""
    raised = timestamp(raised_at, "R")
    if minutes:
        why = f"No facilitator has taken a member's call for help after {minutes} minute{'s' if minutes != 1 else ''}"
    else:
        why = "A member asked for help and I could not alert a facilitator"
    lines = [f"🚨 {who}{why} (raised {raised}). Can one of you pick it up?"]
    if body:
        lines.append(body)
    lines.append("Press **I'm on it** if you are taking it.")
    return "\n".join(lines)


def body_of(post: str) -> str:
    """Return the lines of an alert post that describe the member's call."""
    return "\n".join(line for line in post.splitlines() if line.startswith(BODY_PREFIXES) or line == ">")


def taken_line(user_id: int, taken_at: datetime) -> str:
    """Return the line added to every alert post once a facilitator has taken it."""
    return f"✅ {mention_user(user_id)} is on it (since {timestamp(taken_at, 't')})."
