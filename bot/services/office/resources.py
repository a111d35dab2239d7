"""The office's shared resources library: links and files with a short description and tags, searchable by groups."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from bot.clock import Clock
from bot.db.engine import Database
from bot.db.helpers import rowcount
from bot.db.models_office import OfficeResource
from bot.errors import InvalidInputError
from bot.services.office.announcements import FILE_MAX_BYTES

log = logging.getLogger(__name__)

TITLE_MAX = 100
DESCRIPTION_MAX = 300
TAGS_MAX = 10
TAG_MAX = 30
URL_PATTERN = re.compile(r"^https?://[^\s]{3,490}$")
# A listing shows this many; a search narrows it down.
LIST_MAX = 10


@dataclass(frozen=True, slots=True)
class Resource:
    """An item of the library (without its file's bytes: see `ResourceService.file`)."""

    id: int
    title: str
    description: str
    tags: tuple[str, ...]
    url: str | None
    file_name: str | None
    created_at: datetime


def parse_tags(text: str) -> tuple[str, ...]:
    """Return tags from a comma-separated list, lower case, without repeats."""
    tags: list[str] = []
    for part in text.split(","):
        tag = " ".join(part.split()).casefold()
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            raise InvalidInputError(f"The tag {tag!r} is too long: at most {TAG_MAX} characters.")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise InvalidInputError(f"At most {TAGS_MAX} tags, separated by commas.")
    return tuple(tags)


def _resource(row: OfficeResource) -> Resource:
    tags = tuple(tag for tag in row.tags.split(",") if tag)
    return Resource(row.id, row.title, row.description, tags, row.url, row.file_name, row.created_at)


def matches(resource: Resource, words: str | None, tag: str | None) -> bool:
    """Return whether a resource has the tag (if given) and every word (if any) in its title, description or tags."""
    if tag and tag.strip().casefold() not in resource.tags:
        return False
    haystack = " ".join((resource.title, resource.description, *resource.tags)).casefold()
    return all(word in haystack for word in (words or "").casefold().split())


class ResourceService:
    """Keep the library and search it."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def add(
        self,
        title: str,
        description: str,
        tags: str,
        *,
        url: str | None = None,
        file_name: str | None = None,
        file_data: bytes | None = None,
    ) -> Resource:
        """Add a link or a file to the library."""
        title, description = " ".join(title.split()), description.strip()
        if not title or len(title) > TITLE_MAX:
            raise InvalidInputError(f"A title is needed, at most {TITLE_MAX} characters.")
        if len(description) > DESCRIPTION_MAX:
            raise InvalidInputError(f"The description is {len(description)} characters; at most {DESCRIPTION_MAX}.")
        if (url is None) == (file_data is None):
            raise InvalidInputError("Give either a `link` or a `file` (one of the two).")
        if url is not None and not URL_PATTERN.match(url.strip()):
            raise InvalidInputError("The link must be a web address starting with https:// (or http://).")
        if file_data is not None and len(file_data) > FILE_MAX_BYTES:
            raise InvalidInputError(f"The file is too large: at most {FILE_MAX_BYTES // (1024 * 1024)} MiB.")
        parsed = parse_tags(tags)
        async with self._db.session() as session:
            row = OfficeResource(
                title=title,
                url=url.strip() if url else None,
                file_name=file_name if file_data is not None else None,
                file_data=file_data,
                description=description,
                tags=",".join(parsed),
                created_at=self._clock.now(),
            )
            session.add(row)
            await session.flush()
            resource = _resource(row)
        log.info("Resource %s added to the library.", resource.id)
        return resource

    async def remove(self, resource_id: int) -> bool:
        """Remove an item; return whether there was one."""
        async with self._db.session() as session:
            result = await session.execute(delete(OfficeResource).where(OfficeResource.id == resource_id))
            return rowcount(result) == 1

    async def all(self) -> list[Resource]:
        """Return every item, newest first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(OfficeResource).order_by(OfficeResource.id.desc()).execution_options(populate_existing=True)
            )
            return [_resource(row) for row in rows.all()]

    async def search(self, words: str | None = None, tag: str | None = None) -> list[Resource]:
        """Return the items with the tag and all the words, newest first."""
        return [resource for resource in await self.all() if matches(resource, words, tag)]

    async def tags(self) -> list[str]:
        """Return every tag in use, sorted."""
        return sorted({tag for resource in await self.all() for tag in resource.tags})

    async def get(self, resource_id: int) -> Resource | None:
        """Return one item, or None."""
        async with self._db.session() as session:
            row = await session.get(OfficeResource, resource_id)
            return None if row is None else _resource(row)

    async def file(self, resource_id: int) -> tuple[str, bytes] | None:
        """Return an item's file name and bytes, or None when it is a link."""
        async with self._db.session() as session:
            row = await session.get(OfficeResource, resource_id)
            if row is None or row.file_data is None:
                return None
            return row.file_name or "file", row.file_data
