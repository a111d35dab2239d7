"""A group's configuration as plain data, and the rules for what counts as set up."""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass, fields

from bot.errors import InvalidInputError, NotConfiguredError

CRISIS_TEXT_MAX = 1500
PASS_THE_HAT_TEXT_MAX = 1000
AUTOCOMPLETE_LIMIT = 25
# UK numbers, with the addiction helplines a member of a SMART group most often needs.
DEFAULT_CRISIS_TEXT = (
    "If you are in crisis or feel unsafe, please reach out now:\n"
    "- Emergency services: 999 (UK) or your local emergency number\n"
    "- NHS 111: for urgent medical help that is not an emergency\n"
    "- Samaritans: call 116 123 (free, 24/7) or email jo@samaritans.org\n"
    "- Shout: text SHOUT to 85258 (free, 24/7 text support)\n"
    "- Frank (drugs): call 0300 123 6600 (confidential, 24/7)\n"
    "- Drinkline (alcohol): call 0300 123 1110\n"
    "- National Gambling Helpline: call 0808 8020 133 (free, 24/7)\n"
    "This group is peer support, not a crisis service."
)
# Zones whose people the default (UK) crisis text serves. Jersey, Guernsey and the Isle of Man are left out on
# purpose: they are not in the UK and run their own health services (no NHS 111), so their coordinators are asked
# to check the text like any group outside the UK.
UK_ZONES = frozenset({"Europe/London", "Europe/Belfast", "GB", "GB-Eire"})

# What each configurable item is called when we tell a coordinator it is missing.
FIELD_LABELS: dict[str, str] = {
    "timezone": "time zone",
    "meetings_channel_id": "meetings channel",
    "facilitators_channel_id": "facilitators' channel",
    "coordinators_channel_id": "coordinators' channel",
    "facilitator_role_id": "facilitator role",
    "coordinator_role_id": "coordinator role",
    "reminder_role_id": "reminder role",
}


@dataclass(frozen=True)
class GuildSettings:
    """What `/setup` has configured for one guild; None means not set yet."""

    guild_id: int
    timezone: str | None = None
    meetings_channel_id: int | None = None
    facilitators_channel_id: int | None = None
    coordinators_channel_id: int | None = None
    facilitator_role_id: int | None = None
    coordinator_role_id: int | None = None
    reminder_role_id: int | None = None
    crisis_text: str | None = None
    # Off unless the group chooses it: many groups (most in the UK) don't collect money online.
    pass_the_hat_enabled: bool = False
    pass_the_hat_text: str | None = None

    @property
    def crisis_resources(self) -> str:
        """Return the guild's crisis text, or the default when none was written."""
        return self.crisis_text or DEFAULT_CRISIS_TEXT

    @property
    def crisis_text_needs_local_resources(self) -> bool:
        """Return whether the group is outside the UK but still shows the default (UK) crisis text."""
        return self.crisis_text is None and self.timezone is not None and self.timezone not in UK_ZONES

    def missing(self, *names: str) -> list[str]:
        """Return the labels of the named settings that are still unset."""
        return [FIELD_LABELS[name] for name in names if getattr(self, name) is None]

    def require(self, *names: str) -> GuildSettings:
        """Return self, or raise NotConfiguredError naming every unset setting among `names`."""
        missing = self.missing(*(names or tuple(FIELD_LABELS)))
        if missing:
            raise NotConfiguredError(missing)
        return self


CONFIG_FIELDS = tuple(f.name for f in fields(GuildSettings) if f.name != "guild_id")


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Return every IANA zone name this Python knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def validate_zone(name: str) -> str:
    """Return the canonical spelling of an IANA zone, or raise a message with an example."""
    cleaned = name.strip()
    by_lower = {zone.lower(): zone for zone in zone_names()}
    zone = by_lower.get(cleaned.lower())
    if zone is None:
        suggestions = search_zones(cleaned, limit=3)
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        raise InvalidInputError(
            f"`{cleaned[:64]}` is not a time zone I know. Use an IANA name such as Europe/London or "
            f"America/New_York.{hint}"
        )
    return zone


def search_zones(query: str, limit: int = AUTOCOMPLETE_LIMIT) -> list[str]:
    """Return zones matching `query`: prefix matches of any part first, then substrings."""
    needle = query.strip().lower().replace(" ", "_")
    if not needle:
        return list(zone_names()[:limit])
    starts = [z for z in zone_names() if any(part.startswith(needle) for part in z.lower().split("/"))]
    starts += [z for z in zone_names() if z.lower().startswith(needle) and z not in starts]
    contains = [z for z in zone_names() if needle in z.lower() and z not in starts]
    return (starts + contains)[:limit]


def validate_pass_the_hat_text(text: str) -> str:
    """Return the pass-the-hat text trimmed, or raise when it is empty or too long."""
    return _bounded_text(
        text,
        "The pass-the-hat text",
        PASS_THE_HAT_TEXT_MAX,
        "The pass-the-hat text can't be empty: leave `text` out to keep the current one.",
    )


def validate_crisis_text(text: str) -> str:
    """Return the crisis text trimmed, or raise when it is empty or too long to post."""
    return _bounded_text(
        text,
        "The crisis resources text",
        CRISIS_TEXT_MAX,
        "The crisis resources text can't be empty: members rely on it.",
    )


def _bounded_text(text: str, what: str, limit: int, when_empty: str) -> str:
    """Return `text` trimmed, or raise `when_empty` for blank text or a message naming `what` when past `limit`."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInputError(when_empty)
    if len(cleaned) > limit:
        raise InvalidInputError(f"{what} is {len(cleaned)} characters; it can be at most {limit}.")
    return cleaned
