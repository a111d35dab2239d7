"""A group's opt-in public listing: the public name, description and join link its coordinators chose.

Only what is stored here (and the group's meeting times) ever leaves the server through the feed, the `.ics` and the
public page; the guild id is the row's key and nothing more.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.models_listing import PublicListing
from bot.errors import ConflictError, InvalidInputError, NotFoundError

log = logging.getLogger(__name__)

MAX_PUBLIC_NAME = 100
MAX_DESCRIPTION = 1000
MAX_SLUG = 50
# Only invite links: a discord.com/channels/... link would print the server's and a channel's ids, and only works
# for people already in the server anyway.
_INVITE_RE = re.compile(
    r"https://(?:discord\.gg|discord\.com/invite|discordapp\.com/invite)/(?P<code>[A-Za-z0-9-]{2,40})"
)
_NOT_SLUG_RE = re.compile(r"[^a-z0-9]+")


class ListingInputError(InvalidInputError):
    """A public name, description or join link cannot be listed; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class ListingView:
    """A group's listing as the feed, the page and the cog read it."""

    guild_id: int
    listed: bool
    public_name: str
    slug: str
    description: str
    join_url: str
    updated_at: datetime


def _view(row: PublicListing) -> ListingView:
    return ListingView(
        guild_id=row.guild_id,
        listed=row.listed,
        public_name=row.public_name,
        slug=row.slug,
        description=row.description,
        join_url=row.join_url,
        updated_at=row.updated_at,
    )


def clean_public_name(text: str) -> str:
    """Return the public name on one line, or raise ListingInputError when empty or too long."""
    name = " ".join(text.split())
    if not name:
        raise ListingInputError("The public name can't be empty: give the name people will know the group by.")
    if len(name) > MAX_PUBLIC_NAME:
        raise ListingInputError(f"The public name can be at most {MAX_PUBLIC_NAME} characters (it has {len(name)}).")
    return name


def clean_description(text: str) -> str:
    """Return the public description as plain text, or raise ListingInputError when too long."""
    description = text.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ListingInputError(
            f"The description can be at most {MAX_DESCRIPTION} characters (it has {len(description)})."
        )
    if "<@" in description or "<#" in description:
        # A mention would publish a member's or a channel's id.
        raise ListingInputError("The description can't mention members, roles or channels: it is shown publicly.")
    return description


def clean_join_url(text: str) -> str:
    """Return a Discord invite link, or raise ListingInputError for anything else."""
    url = text.strip()
    match = _INVITE_RE.fullmatch(url)
    if match is None:
        raise ListingInputError(
            "The join link must be a Discord invite such as https://discord.gg/AbCd123 (a referral route's link "
            "works well). Channel links only work for people already in the server."
        )
    return f"https://discord.gg/{match['code']}"


def slug_of(name: str) -> str:
    """Return a URL-safe slug of a name: "Grŵp Ynys Môn" -> "grwp-ynys-mon"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG_RE.sub("-", ascii_name).strip("-")[:MAX_SLUG].strip("-")
    return slug or "group"


class ListingService:
    """Turn a group's public listing on or off, and read the listed groups."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def get(self, guild_id: int) -> ListingView | None:
        """Return the group's listing (listed or not), or None if it never made one."""
        async with self._db.session() as session:
            row = await session.get(PublicListing, guild_id)
            return None if row is None else _view(row)

    async def list_group(
        self, guild_id: int, *, public_name: str, description: str | None = None, join_url: str | None = None
    ) -> ListingView:
        """List the group publicly; a description or join link left out keeps the one chosen before."""
        name = clean_public_name(public_name)
        cleaned_description = None if description is None else clean_description(description)
        cleaned_url = None if join_url is None else clean_join_url(join_url)
        now = self._clock.now()
        try:
            async with self._db.session() as session:
                row = await session.get(PublicListing, guild_id)
                if row is None:
                    if cleaned_url is None:
                        raise ListingInputError(
                            "Give the join link people will use: a Discord invite, or pick a referral route."
                        )
                    row = PublicListing(
                        guild_id=guild_id,
                        listed=True,
                        public_name=name,
                        slug=await self._free_slug(session, slug_of(name)),
                        description=cleaned_description or "",
                        join_url=cleaned_url,
                        created_at=now,
                        updated_at=now,
                    )
                    session.add(row)
                else:
                    # The slug stays as first made: printed and shared addresses keep working after a rename.
                    row.listed = True
                    row.public_name = name
                    if cleaned_description is not None:
                        row.description = cleaned_description
                    if cleaned_url is not None:
                        row.join_url = cleaned_url
                    row.updated_at = now
                await session.flush()
                view = _view(row)
        except IntegrityError:
            raise ConflictError("Another group took that public name's address just now: please try again.") from None
        log.info("Public listing on for a group (slug %s).", view.slug)
        return view

    async def unlist_group(self, guild_id: int) -> ListingView:
        """Take the group out of the public listing (its choices are kept for next time)."""
        async with self._db.session() as session:
            row = await session.get(PublicListing, guild_id)
            if row is None or not row.listed:
                raise NotFoundError("This group isn't in the public listing, so there is nothing to turn off.")
            row.listed = False
            row.updated_at = self._clock.now()
            view = _view(row)
        log.info("Public listing off for a group (slug %s).", view.slug)
        return view

    async def listed_groups(self) -> list[ListingView]:
        """Return every listed group, by slug."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PublicListing).where(PublicListing.listed.is_(True)).order_by(PublicListing.slug)
            )
            return [_view(row) for row in rows]

    async def listed_by_slug(self, slug: str) -> ListingView | None:
        """Return the listed group with this slug, or None (unknown or not listed)."""
        async with self._db.session() as session:
            row = await session.scalar(
                select(PublicListing).where(PublicListing.slug == slug, PublicListing.listed.is_(True))
            )
            return None if row is None else _view(row)

    @staticmethod
    async def _free_slug(session: AsyncSession, base: str) -> str:
        """Return `base`, or `base-2`, `base-3`... whichever no other group uses."""
        taken = set(
            await session.scalars(
                select(PublicListing.slug).where((PublicListing.slug == base) | PublicListing.slug.like(f"{base}-%"))
            )
        )
        if base not in taken:
            return base
        number = 2
        while f"{base}-{number}" in taken:
            number += 1
        return f"{base}-{number}"
