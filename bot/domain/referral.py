"""Referral routes as plain rules: route names, count months, the newcomers' note, and the permissions they need.

A referral route is one Discord invite a group gives a host agency (or any route people come in by). The bot counts
joins as the growth of the invite's use count: a number per route and month, never who.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.server_setup import Finding
from bot.errors import InvalidInputError

ROUTE_NAME_MAX = 80
# Enough for every agency a group works with; autocomplete shows 25 at a time, filtered by what is typed.
ACTIVE_ROUTES_MAX = 50
# How often the invites' use counts are read: joins are counted in the month of the read that sees them.
COUNT_INTERVAL = timedelta(hours=1)
WELCOME_TEXT_MAX = 1800

DEFAULT_WELCOME_TEXT = (
    "**New here? Welcome!** 👋\n"
    "This is an online SMART Recovery group: free meetings where people help each other change habits and "
    "addictive behaviours, using practical, science-based tools.\n\n"
    "**What to expect at a first meeting**\n"
    "• A trained facilitator guides it: a short check-in, a conversation using a SMART tool, and a check-out.\n"
    "• Cameras are optional, and you can just listen: nobody has to speak.\n"
    "• It's free, and you can leave whenever you need to.\n\n"
    "**Find the next meeting:** type `/meeting list` (`/meeting remind-me` gets you a reminder).\n"
    "**Need help right now?** Type `/crisis` for people you can talk to today."
)

# What the referral features need in the welcome channel, as Discord names the permissions, and why.
INVITE_NEEDS = ("view_channel", "create_instant_invite")  # make a route's invite
COUNT_NEEDS = ("manage_channels",)  # read the invites' use counts (Get Channel Invites); delete a retired one
NOTE_NEEDS = ("view_channel", "send_messages", "read_message_history", "pin_messages")  # post and pin the note
REFERRAL_PERMISSION_LABELS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "read_message_history": "Read Message History",
    "create_instant_invite": "Create Invite",
    "manage_channels": "Manage Channels",
    "pin_messages": "Pin Messages",
}
# Told to coordinators when reading the counts is refused.
COUNT_PERMISSION_PROBLEM = (
    "I can't read how many people joined through the links: I need 'Manage Channels' in the welcome channel "
    "(Discord shows an invite's use count only to those who can manage its channel)."
)


def clean_route_name(name: str) -> str:
    """Return a route's name tidied (spaces collapsed); refuse an empty, too long or unprintable one."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInputError("Give the route a name, for example the agency's: “Anytown Alcohol Service”.")
    if len(cleaned) > ROUTE_NAME_MAX:
        raise InvalidInputError(
            f"A route's name can be at most {ROUTE_NAME_MAX} characters (that one has {len(cleaned)}): "
            "shorten it, for example “Anytown Alcohol Service”."
        )
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in cleaned):
        raise InvalidInputError("A route's name can't contain control characters: use plain words.")
    return cleaned


def check_new_route(name: str, active_names: Iterable[str]) -> str:
    """Return the cleaned name of a new route; refuse it when an active route has it (any case) or there are many."""
    cleaned = clean_route_name(name)
    names = list(active_names)
    if any(existing.casefold() == cleaned.casefold() for existing in names):
        raise InvalidInputError(
            f"There is already a route called “{cleaned}”. Choose another name, or retire the old one first with "
            "`/referral retire`."
        )
    if len(names) >= ACTIVE_ROUTES_MAX:
        raise InvalidInputError(
            f"This group has {len(names)} referral routes, the most it can have: retire one you no longer use first."
        )
    return cleaned


def clean_welcome_text(text: str) -> str:
    """Return the newcomers' note as it will be posted; refuse an empty or too long one."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInputError("The note can't be empty: write what a newcomer should know, or keep the default.")
    if len(cleaned) > WELCOME_TEXT_MAX:
        raise InvalidInputError(
            f"The note can be at most {WELCOME_TEXT_MAX} characters (that one has {len(cleaned)}): shorten it."
        )
    return cleaned


def month_of(moment: datetime | date) -> str:
    """Return the month a count belongs to, "YYYY-MM" (a read's instant in UTC)."""
    return f"{moment.year:04d}-{moment.month:02d}"


def months_between(start: date, end: date) -> list[str]:
    """Return every month from `start`'s to `end`'s, both included, as "YYYY-MM"."""
    if end < start:
        raise ValueError("the end must not be before the start")
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def joins_since(uses_seen: int, uses_now: int) -> int:
    """Return how many joins a read adds: the growth of the use count (never negative)."""
    return max(0, uses_now - uses_seen)


@dataclass(frozen=True)
class ReferralFacts:
    """What `/setup check` needs to know about the referral features: the welcome channel and the bot's rights there."""

    routes: int
    channel_name: str | None
    bot_has: frozenset[str]
    bot_role: str
    note_posted: bool = False


def check_referrals(facts: ReferralFacts) -> list[Finding]:
    """Return what stops the referral links or the newcomers' note from working (nothing when all is well)."""
    if facts.routes == 0 and not facts.note_posted:
        return []
    if facts.channel_name is None:
        return [
            Finding(
                "The welcome channel the referral links open on no longer exists (or none is set).",
                "Choose one with `/referral welcome-channel`; links made earlier still work until retired.",
            )
        ]
    needs = [*INVITE_NEEDS, *COUNT_NEEDS, *NOTE_NEEDS] if facts.routes else list(NOTE_NEEDS)
    missing = [name for name in dict.fromkeys(needs) if name not in facts.bot_has]
    if not missing:
        return []
    why = []
    if "manage_channels" in missing:
        why.append("read how many people joined through the referral links")
    if "create_instant_invite" in missing:
        why.append("make referral links")
    if "pin_messages" in missing or "send_messages" in missing:
        why.append("post and pin the “New here?” note")
    labels = _labels(missing, REFERRAL_PERMISSION_LABELS)
    return [
        Finding(
            f"I lack {labels} in #{facts.channel_name} (the welcome channel), so I can't {' or '.join(why) or 'work'}.",
            f"In #{facts.channel_name} → Edit Channel → Permissions, allow {labels} for the bot's role "
            f"'{facts.bot_role}'.",
        )
    ]


def _labels(names: Iterable[str], labels: Mapping[str, str]) -> str:
    quoted = [f"'{labels.get(name, name)}'" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
