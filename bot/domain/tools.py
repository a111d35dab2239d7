"""The SMART tools library: content files as validated models, search, and Discord-sized renderings.

Everything here is pure except `load_library`, which only reads the content folder and hands the
texts to `build_library`. Renderings are plain dicts with Discord's embed keys, so the Discord layer
can call `discord.Embed.from_dict(...)` on them; `check_library` renders every tool in every form
and checks each rendering against Discord's limits, so what passes the check can always be sent.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from bot.domain.text import normalise
from bot.domain.withdrawal import (
    WITHDRAWAL_KEY_PHRASES as WITHDRAWAL_KEY_PHRASES,
    WITHDRAWAL_WARNING as WITHDRAWAL_WARNING,
    first_paragraph,
    likely_plans_change,
    missing_warning_phrases,
    withdrawal_problems,
)
from bot.domain.yaml_text import load_yaml

# Discord's limits (DISCORD_FACTS.md), in characters unless stated.
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE_MAX = 10
MODAL_TITLE_MAX = 45
MODAL_INPUTS_MAX = 5
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_PLACEHOLDER_MAX = 100
TEXT_INPUT_VALUE_MAX = 4000

# Content limits of our own: chosen so a tool's name and slug fit every place the bot shows them
# (autocomplete choices <= 100, button labels <= 80, custom_ids <= 100 with a prefix).
SLUG_MAX = 60
NAME_MAX = 80
SUMMARY_MAX = 200
WHEN_IT_HELPS_MAX = 1000
STEP_MAX = 200
STEPS_MAX = 10
PROMPT_MAX = 300
PROMPTS_MIN = 2
PROMPTS_MAX = 4
WORKSHEET_FIELDS_MAX = 15
ALIAS_MAX = 80

EMBED_COLOUR = 0x2E7D6B
SHARE_COLOUR = 0x3A6EA5
LIST_PER_PAGE = 8
SEARCH_CUTOFF = 0.7
# A search reads at most this much of what was typed: no name or alias is longer (ALIAS_MAX), and comparing a
# 6,000-character autocomplete value letter by letter with every key took seconds of the 3 Discord allows.
SEARCH_QUERY_MAX = 100
FRONT_MATTER_FENCE = "---"
CONTENT_FILE_SUFFIX = ".md"

TOOL_FOOTER = "Peer support, not therapy. If you fill in a worksheet, only you get it: the bot keeps no copy."
WORKSHEET_FOOTER = "Only you received this. The bot keeps no copy of your answers."
BLANK_ANSWER = "*Left blank*"
CONTINUED = "(continued)"
BODY_OVERFLOW_NAME = "More"
SAFETY_NAME = "Before you stop or cut down"

_SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# A line that starts a Markdown list item or quote must keep its own line when paragraphs are reflowed.
_BLOCK_LINE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|>|#)")


class ProgrammePoint(IntEnum):
    """The four points of the SMART programme that a tool supports."""

    MOTIVATION = 1
    URGES = 2
    THOUGHTS = 3
    BALANCE = 4

    @property
    def label(self) -> str:
        """Return the point's name as members know it."""
        return POINT_NAMES[self]


POINT_NAMES: dict[ProgrammePoint, str] = {
    ProgrammePoint.MOTIVATION: "Building and maintaining motivation",
    ProgrammePoint.URGES: "Coping with urges",
    ProgrammePoint.THOUGHTS: "Managing thoughts, feelings and behaviours",
    ProgrammePoint.BALANCE: "Living a balanced life",
}


# --- Models -------------------------------------------------------------------------------------

ShortText = Annotated[str, Field(min_length=1)]


class WorksheetField(BaseModel):
    """One text box of a tool's private worksheet; becomes one text input of a modal."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    label: Annotated[str, Field(min_length=1, max_length=TEXT_INPUT_LABEL_MAX)]
    placeholder: Annotated[str, Field(max_length=TEXT_INPUT_PLACEHOLDER_MAX)] = ""
    max_length: Annotated[int, Field(ge=1, le=TEXT_INPUT_VALUE_MAX)] = 1000
    required: bool = False
    style: Literal["short", "paragraph"] = "paragraph"


class Tool(BaseModel):
    """One SMART tool: its front matter and the explanation members read (`body`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    slug: Annotated[str, Field(min_length=1, max_length=SLUG_MAX, pattern=_SLUG_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    aliases: tuple[Annotated[str, Field(min_length=1, max_length=ALIAS_MAX)], ...] = ()
    points: Annotated[tuple[ProgrammePoint, ...], Field(min_length=1)]
    summary: Annotated[str, Field(min_length=1, max_length=SUMMARY_MAX)]
    when_it_helps: Annotated[str, Field(min_length=1, max_length=WHEN_IT_HELPS_MAX)]
    steps: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=STEP_MAX)], ...],
        Field(min_length=1, max_length=STEPS_MAX),
    ]
    discussion_prompts: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=PROMPT_MAX)], ...],
        Field(min_length=PROMPTS_MIN, max_length=PROMPTS_MAX),
    ]
    worksheet: Annotated[tuple[WorksheetField, ...], Field(min_length=1, max_length=WORKSHEET_FIELDS_MAX)]
    # True: the tool helps plan to stop or cut down, so it must carry the withdrawal warning. None: the author has
    # not said, which is fine unless its wording looks like change planning (see `likely_plans_change`).
    plans_change: bool | None = None
    body: ShortText

    @field_validator("points", mode="before")
    @classmethod
    def _one_point_is_a_list(cls, value: object) -> object:
        # Authors naturally write `points: 2` for a single point.
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("points")
    @classmethod
    def _sorted_points(cls, value: tuple[ProgrammePoint, ...]) -> tuple[ProgrammePoint, ...]:
        return tuple(sorted(set(value)))

    @field_validator("body")
    @classmethod
    def _reflow_body(cls, value: str) -> str:
        return reflow_markdown(value)

    @field_validator("worksheet")
    @classmethod
    def _unique_labels(cls, value: tuple[WorksheetField, ...]) -> tuple[WorksheetField, ...]:
        # Answers are keyed by label, so two boxes with one label would overwrite each other.
        seen: set[str] = set()
        for item in value:
            key = item.label.casefold()
            if key in seen:
                raise ValueError(f"two fields are labelled {item.label!r}; every label must be different")
            seen.add(key)
        return value

    @property
    def point_names(self) -> list[str]:
        """Return the names of the tool's programme points, in order."""
        return [point.label for point in self.points]

    @property
    def withdrawal_warning(self) -> str | None:
        """Return the explanation's withdrawal warning paragraph, or None when the tool does not plan change."""
        if not self.plans_change:
            return None
        first = first_paragraph(self.body)
        return first if not missing_warning_phrases(first) else None


@dataclass(frozen=True)
class ContentProblem:
    """One thing wrong with a content file, said so that an author can fix it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class ToolContentError(ValueError):
    """A content file could not be turned into a tool; `problems` lists every reason."""

    def __init__(self, problems: list[ContentProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


# --- Parsing ------------------------------------------------------------------------------------


def reflow_markdown(text: str) -> str:
    """Join hard-wrapped lines into paragraphs, because Discord shows every newline as a line break."""
    blocks: list[str] = []
    for raw_block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines: list[str] = []
        for line in raw_block.split("\n"):
            stripped = line.strip()
            if not stripped:
                continue
            if lines and not _BLOCK_LINE.match(line):
                lines[-1] = f"{lines[-1]} {stripped}"
            else:
                lines.append(line.rstrip())
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def split_front_matter(text: str) -> tuple[str, str] | None:
    """Return (front matter, body) of a content file, or None when it has no front matter."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == FRONT_MATTER_FENCE:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
    return None


def parse_tool_file(text: str, source: str) -> Tool:
    """Parse one content file into a Tool, or raise ToolContentError listing every problem."""
    parts = split_front_matter(text)
    if parts is None:
        raise ToolContentError(
            [
                ContentProblem(
                    source,
                    "front matter",
                    "the file must start with a line '---', then the fields, then another line '---'",
                )
            ]
        )
    front_text, body = parts
    try:
        data = load_yaml(front_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # +2: the front matter starts on the file's second line and YAML counts lines from 0.
        where = f" near line {mark.line + 2}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or "it could not be read"
        raise ToolContentError(
            [
                ContentProblem(
                    source,
                    "front matter",
                    f"not valid YAML{where}: {reason} (a value with a colon in it needs quotes)",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise ToolContentError([ContentProblem(source, "front matter", "must be a list of 'field: value' lines")])
    if "body" in data:
        raise ToolContentError(
            [ContentProblem(source, "body", "write the explanation below the closing '---', not as a field")]
        )
    try:
        return Tool.model_validate({**data, "body": body})
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose items failed is also reported "too short" (pydantic counts only valid items): noise.
        failed_items = {
            error["loc"][:index] for error in errors for index, part in enumerate(error["loc"]) if isinstance(part, int)
        }
        errors = [error for error in errors if not (error["type"] == "too_short" and error["loc"] in failed_items)]
        raise ToolContentError(
            [ContentProblem(source, _field_path(error["loc"]), _friendly(error)) for error in errors]
        ) from None


def _field_path(loc: tuple[int | str, ...]) -> str:
    """Return a pydantic error location as authors read it: `worksheet[2].label`, counting from 1."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part + 1}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "front matter"


def _friendly(error: ErrorDetails) -> str:
    """Return a pydantic error message in words a non-programmer can act on."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return "is not a field the bot knows (check the spelling)"
    if kind == "string_too_long":
        return f"is {len(str(value))} characters long; the limit is {ctx['max_length']}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"is too short: it has {ctx['actual_length']} and needs at least {ctx['min_length']}"
    if kind == "too_long":
        return f"allows at most {ctx['max_length']} items but has {ctx.get('actual_length', 'more')}"
    if kind == "string_type":
        return "should be text (put it in quotes if it looks like a number, a date or yes/no)"
    if kind == "string_pattern_mismatch":
        return "must be lower-case words joined by hyphens, like 'urge-log'"
    if kind == "enum":
        names = "; ".join(f"{point.value} = {point.label}" for point in ProgrammePoint)
        return f"must be 1, 2, 3 or 4 ({names})"
    if kind in {"less_than_equal", "greater_than_equal"}:
        limit = ctx.get("le", ctx.get("ge"))
        return f"is {value}; it must be {'at most' if kind == 'less_than_equal' else 'at least'} {limit}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


# --- Library ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    tier: int
    score: float


def _match(query: str, key: str) -> _Match | None:
    """Rank how well a normalised query matches one normalised key; lower tiers are better."""
    compact_query, compact_key = query.replace(" ", ""), key.replace(" ", "")
    if query == key or compact_query == compact_key:
        return _Match(0, 1.0)
    if key.startswith(query) or compact_key.startswith(compact_query):
        return _Match(1, 1.0)
    query_words, key_words = query.split(), key.split()
    if all(any(word.startswith(part) for word in key_words) for part in query_words):
        return _Match(2, 1.0)
    if compact_query in compact_key:
        return _Match(3, 1.0)
    # Typos: compare the whole strings and word by word, so "hierachy" finds "hierarchy of values".
    whole = difflib.SequenceMatcher(None, query, key).ratio()
    per_word = sum(
        max(difflib.SequenceMatcher(None, part, word).ratio() for word in key_words) for part in query_words
    ) / len(query_words)
    score = max(whole, per_word)
    return _Match(4, score) if score >= SEARCH_CUTOFF else None


class ToolLibrary:
    """The loaded tools, with look-up by slug, by programme point and by forgiving search."""

    def __init__(
        self,
        tools: Iterable[Tool],
        problems: Sequence[ContentProblem] = (),
        directory: Path | None = None,
    ) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in sorted(tools, key=lambda item: (item.name.casefold(), item.slug)):
            if tool.slug in self._tools:
                raise ValueError(f"two tools have the slug {tool.slug!r}")
            self._tools[tool.slug] = tool
        self.problems: list[ContentProblem] = list(problems)
        self.directory = directory
        self._keys: dict[str, list[str]] = {
            tool.slug: [key for text in (tool.slug, tool.name, *tool.aliases) if (key := normalise(text))]
            for tool in self._tools.values()
        }

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __contains__(self, slug: object) -> bool:
        return slug in self._tools

    def get(self, slug: str) -> Tool | None:
        """Return the tool with this slug, or None."""
        return self._tools.get(slug)

    def all(self) -> list[Tool]:
        """Return every tool, sorted by name."""
        return list(self._tools.values())

    def by_point(self, point: int) -> list[Tool]:
        """Return the tools that support a programme point (1-4), sorted by name."""
        return [tool for tool in self._tools.values() if point in tool.points]

    def search(self, query: str, limit: int = 25) -> list[Tool]:
        """Return up to `limit` tools matching the query best first; typos are forgiven."""
        wanted = normalise(query[: SEARCH_QUERY_MAX * 2])[:SEARCH_QUERY_MAX].strip()
        if not wanted:
            return self.all()[:limit]
        ranked: list[tuple[int, float, str, Tool]] = []
        for tool in self._tools.values():
            matches = [found for key in self._keys[tool.slug] if (found := _match(wanted, key)) is not None]
            if matches:
                best = min(matches, key=lambda found: (found.tier, -found.score))
                ranked.append((best.tier, -best.score, tool.name.casefold(), tool))
        ranked.sort(key=lambda row: row[:3])
        return [row[3] for row in ranked[:limit]]

    def find(self, query: str) -> Tool | None:
        """Return the tool a member most likely meant (slug, name or alias, else best search hit)."""
        exact = self._tools.get(query.strip())
        if exact is not None:
            return exact
        hits = self.search(query, limit=1)
        return hits[0] if hits else None


def build_library(files: Mapping[str, str], directory: Path | None = None) -> ToolLibrary:
    """Build a library from {file name: text}; broken files are left out and listed in `problems`."""
    # Imported here: the renderings module builds on the models defined above.
    from bot.domain.tool_render import list_problems, tool_rendering_problems

    parsed: dict[str, Tool] = {}
    problems: list[ContentProblem] = []
    for source in sorted(files):
        try:
            parsed[source] = parse_tool_file(files[source], source)
        except ToolContentError as exc:
            problems.extend(exc.problems)
    # A slug belongs to the file named after it, so a copied file is the one reported, whatever the order.
    owners: dict[str, str] = {}
    for source, tool in parsed.items():
        if PurePath(source).stem == tool.slug or tool.slug not in owners:
            owners[tool.slug] = source
    tools: list[Tool] = []
    for source, tool in parsed.items():
        file_problems = []
        if tool.slug != PurePath(source).stem:
            file_problems.append(
                ContentProblem(source, "slug", f"is {tool.slug!r} but the file is named {source!r}; they must match")
            )
        if owners[tool.slug] != source:
            file_problems.append(
                ContentProblem(source, "slug", f"{tool.slug!r} is already used by {owners[tool.slug]}")
            )
        file_problems.extend(ContentProblem(source, field, message) for field, message in withdrawal_problems(tool))
        file_problems.extend(ContentProblem(source, field, message) for field, message in tool_rendering_problems(tool))
        if file_problems:
            problems.extend(file_problems)
        else:
            tools.append(tool)
        if tool.plans_change is None and (wording := likely_plans_change(tool)):
            # Only a guess from the wording, so the tool is still served; the author confirms either way.
            problems.append(
                ContentProblem(
                    source,
                    "plans_change",
                    f"the tool mentions {wording!r}: if it helps plan to stop or cut down, add 'plans_change: true' "
                    "and the withdrawal warning; if not, add 'plans_change: false'",
                )
            )
    library = ToolLibrary(tools, directory=directory)
    where = str(directory) if directory is not None else "tools"
    if not files:
        problems.append(ContentProblem(where, "", f"no tool files (*{CONTENT_FILE_SUFFIX}) found"))
    if tools:
        for message in list_problems(library):
            problems.append(ContentProblem(where, "rendering: tool list", message))
        for point in ProgrammePoint:
            if not library.by_point(point):
                problems.append(ContentProblem(where, "points", f"no tool covers point {point.value} ({point.label})"))
    library.problems = problems
    return library


def load_library(directory: Path) -> ToolLibrary:
    """Read every tool file in a folder (the only function here that touches the disk)."""
    if not directory.is_dir():
        return ToolLibrary([], [ContentProblem(str(directory), "", "folder not found")], directory)
    files: dict[str, str] = {}
    unreadable: list[ContentProblem] = []
    for path in sorted(directory.iterdir()):
        # `_` and `.` files are the author's own notes and editor leftovers, never tools.
        if path.name.startswith(("_", ".")) or not path.is_file():
            continue
        if path.suffix != CONTENT_FILE_SUFFIX:
            unreadable.append(ContentProblem(path.name, "", f"ignored: tool files must end in {CONTENT_FILE_SUFFIX}"))
            continue
        try:
            files[path.name] = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            unreadable.append(ContentProblem(path.name, "", "is not saved as UTF-8 text"))
        except OSError as exc:
            unreadable.append(ContentProblem(path.name, "", f"could not be read ({exc.strerror})"))
    built = _build_library_once(tuple(sorted(files.items())), directory)
    # A new library around the shared tools (frozen models): nothing a caller does to it reaches the cached one.
    return ToolLibrary(built, [*unreadable, *built.problems], directory)


@functools.lru_cache(maxsize=8)
def _build_library_once(files: tuple[tuple[str, str], ...], directory: Path | None) -> ToolLibrary:
    """Build the library of these files once per process: parsing and checking them takes 11 ms."""
    # Keyed by the files' text, so an edited file is parsed again; a process that starts several bots (the tests,
    # the benchmarks) no longer parses the same content at every start.
    return build_library(dict(files), directory)


def check_library(directory: Path) -> list[ContentProblem]:
    """Return every problem with the content folder; an empty list means every tool can be served."""
    return load_library(directory).problems


def default_content_dir() -> Path:
    """Return the shipped `tools_content` folder, found from the package rather than the working directory."""
    return Path(__file__).resolve().parents[2] / "tools_content"
