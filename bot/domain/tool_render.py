"""Discord-sized renderings of SMART tools, and the checks that every rendering fits Discord's limits.

Renderings are plain dicts with Discord's embed keys, so the Discord layer can call
`discord.Embed.from_dict(...)` on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.text import split_text
from bot.domain.tools import (
    BLANK_ANSWER,
    BODY_OVERFLOW_NAME,
    CONTINUED,
    EMBEDS_PER_MESSAGE_MAX,
    EMBED_AUTHOR_MAX,
    EMBED_COLOUR,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELDS_MAX,
    EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBED_FOOTER_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
    LIST_PER_PAGE,
    MODAL_INPUTS_MAX,
    MODAL_TITLE_MAX,
    ProgrammePoint,
    SAFETY_NAME,
    SHARE_COLOUR,
    TEXT_INPUT_LABEL_MAX,
    TEXT_INPUT_PLACEHOLDER_MAX,
    TEXT_INPUT_VALUE_MAX,
    TOOL_FOOTER,
    Tool,
    ToolLibrary,
    WORKSHEET_FOOTER,
    WorksheetField,
)

# --- Discord limits ------------------------------------------------------------------------------


def embed_size(embed: Mapping[str, Any]) -> int:
    """Return the characters of an embed that count towards Discord's 6000 limit."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for field in embed.get("fields") or []:
        size += len(field.get("name") or "") + len(field.get("value") or "")
    return size


def embed_limits_problems(embeds: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return every way one message's embeds break Discord's limits; empty when they fit."""
    problems: list[str] = []
    if len(embeds) > EMBEDS_PER_MESSAGE_MAX:
        problems.append(f"{len(embeds)} embeds in one message (limit {EMBEDS_PER_MESSAGE_MAX})")

    def over(label: str, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            problems.append(f"{label} is {len(text)} characters (limit {limit})")

    for number, embed in enumerate(embeds, start=1):
        where = f"embed {number}"
        over(f"{where} title", embed.get("title"), EMBED_TITLE_MAX)
        over(f"{where} description", embed.get("description"), EMBED_DESCRIPTION_MAX)
        over(f"{where} footer", (embed.get("footer") or {}).get("text"), EMBED_FOOTER_MAX)
        over(f"{where} author", (embed.get("author") or {}).get("name"), EMBED_AUTHOR_MAX)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append(f"{where} has {len(fields)} fields (limit {EMBED_FIELDS_MAX})")
        for index, field in enumerate(fields, start=1):
            name, value = field.get("name") or "", field.get("value") or ""
            if not name.strip() or not value.strip():
                problems.append(f"{where} field {index} has an empty name or value (Discord rejects it)")
            over(f"{where} field {index} name", name, EMBED_FIELD_NAME_MAX)
            over(f"{where} field {index} value", value, EMBED_FIELD_VALUE_MAX)
    total = sum(embed_size(embed) for embed in embeds)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"the message's embeds total {total} characters (limit {EMBED_TOTAL_MAX})")
    return problems


def modal_limits_problems(title: str, fields: Sequence[WorksheetField]) -> list[str]:
    """Return every way a modal with this title and these inputs breaks Discord's limits."""
    problems: list[str] = []
    if not 1 <= len(title) <= MODAL_TITLE_MAX:
        problems.append(f"form title {title!r} is {len(title)} characters (limit {MODAL_TITLE_MAX})")
    if not 1 <= len(fields) <= MODAL_INPUTS_MAX:
        problems.append(f"form has {len(fields)} text boxes (Discord allows 1 to {MODAL_INPUTS_MAX})")
    for item in fields:
        if not 1 <= len(item.label) <= TEXT_INPUT_LABEL_MAX:
            problems.append(f"label {item.label!r} is {len(item.label)} characters (limit {TEXT_INPUT_LABEL_MAX})")
        if len(item.placeholder) > TEXT_INPUT_PLACEHOLDER_MAX:
            problems.append(
                f"placeholder of {item.label!r} is {len(item.placeholder)} characters "
                f"(limit {TEXT_INPUT_PLACEHOLDER_MAX})"
            )
        if not 1 <= item.max_length <= TEXT_INPUT_VALUE_MAX:
            problems.append(f"max_length of {item.label!r} is {item.max_length} (Discord allows 1 to 4000)")
    return problems


def tool_rendering_problems(tool: Tool) -> list[tuple[str, str]]:
    """Render a tool in every form the bot sends it and return (field, message) for each broken limit."""
    problems: list[tuple[str, str]] = []
    problems += [("rendering: tool card", message) for message in embed_limits_problems([render_tool_embed(tool)])]
    problems += [("rendering: share", message) for message in embed_limits_problems([render_share_embed(tool)])]
    pages = worksheet_pages(tool)
    for page, fields in enumerate(pages, start=1):
        title = modal_title(tool, page, len(pages))
        problems += [(f"worksheet form {page}", message) for message in modal_limits_problems(title, fields)]
    # Both extremes: every box filled to its limit, and every box left blank.
    for answers in ({item.label: "x" * item.max_length for item in tool.worksheet}, {}):
        for message_embeds in render_completed_worksheet(tool, answers):
            problems += [
                ("rendering: completed worksheet", message) for message in embed_limits_problems(message_embeds)
            ]
    return problems


def list_problems(library: ToolLibrary) -> list[str]:
    """Return limit problems of every page of the tool list."""
    problems: list[str] = []
    for number, page in enumerate(render_list_pages(library), start=1):
        problems += [f"page {number}: {message}" for message in embed_limits_problems([page])]
    return problems


# --- Renderings ---------------------------------------------------------------------------------


def _text_fields(name: str, text: str) -> list[dict[str, Any]]:
    """Return embed fields carrying `text`, continued over several fields when it is long."""
    chunks = split_text(text, EMBED_FIELD_VALUE_MAX) if text.strip() else [BLANK_ANSWER]
    return [
        {"name": name if index == 0 else f"{name} {CONTINUED}", "value": chunk, "inline": False}
        for index, chunk in enumerate(chunks)
    ]


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{number}. {item}" for number, item in enumerate(items, start=1))


def _bulleted(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _points_field(tool: Tool) -> dict[str, Any]:
    name = "Programme point" if len(tool.points) == 1 else "Programme points"
    value = "\n".join(f"{point.value}. {point.label}" for point in tool.points)
    return {"name": name, "value": value, "inline": False}


def render_tool_embed(tool: Tool) -> dict[str, Any]:
    """Return the tool card members read: summary, explanation, when it helps, steps and points."""
    chunks = split_text(f"**{tool.summary}**\n\n{tool.body}", EMBED_DESCRIPTION_MAX)
    # A long explanation carries on in fields rather than being cut; check_library keeps the total in bounds.
    overflow = [field for chunk in chunks[1:] for field in _text_fields(BODY_OVERFLOW_NAME, chunk)]
    fields = [
        *overflow,
        *_text_fields("When it helps", tool.when_it_helps),
        *_text_fields("Steps", _numbered(tool.steps)),
        _points_field(tool),
    ]
    return {
        "title": tool.name,
        "description": chunks[0],
        "color": EMBED_COLOUR,
        "fields": fields,
        "footer": {"text": TOOL_FOOTER},
    }


def _safety_fields(tool: Tool) -> list[dict[str, Any]]:
    """Return the withdrawal warning as fields, for renderings that do not carry the tool's explanation."""
    warning = tool.withdrawal_warning
    return _text_fields(SAFETY_NAME, warning) if warning else []


def render_share_embed(tool: Tool) -> dict[str, Any]:
    """Return the working-time focus a facilitator posts: name, summary, safety, steps and discussion prompts."""
    return {
        "title": f"Working time: {tool.name}",
        "description": tool.summary,
        "color": SHARE_COLOUR,
        "fields": [
            *_safety_fields(tool),
            *_text_fields("Steps", _numbered(tool.steps)),
            *_text_fields("To talk about", _bulleted(tool.discussion_prompts)),
        ],
        "footer": {
            "text": f"Share only what you're comfortable sharing. /tool show {tool.slug} has the full explanation."
        },
    }


def _list_page(entries: Sequence[tuple[ProgrammePoint, Tool]], footer: str) -> dict[str, Any]:
    """Return one page of the tool list, with consecutive entries of a point grouped in one field."""
    fields: list[dict[str, Any]] = []
    groups: dict[ProgrammePoint, list[str]] = {}
    for point, tool in entries:
        groups.setdefault(point, []).append(f"**{tool.name}**: {tool.summary}")
    for point, lines in groups.items():
        fields += _text_fields(f"{point.value}. {point.label}", "\n".join(lines))
    return {
        "title": "SMART tools",
        "description": (
            "The tools, grouped by the four points of the SMART programme. A tool that helps with more than "
            "one point is listed under each. Open one with `/tool show`."
        ),
        "color": EMBED_COLOUR,
        "fields": fields,
        "footer": {"text": footer},
    }


def render_list_pages(library: ToolLibrary, per_page: int = LIST_PER_PAGE) -> list[dict[str, Any]]:
    """Return the tool list as embeds of at most `per_page` entries, grouped by point, each within limits."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    entries = [(point, tool) for point in ProgrammePoint for tool in library.by_point(point)]
    if not entries:
        empty = _list_page([], "Page 1 of 1")
        empty["description"] = "No tools are available yet."
        return [empty]
    pages: list[list[tuple[ProgrammePoint, Tool]]] = [[]]
    widest_footer = "Page 9999 of 9999"
    for entry in entries:
        candidate = [*pages[-1], entry]
        # Start a new page when this one is full or the entry would push it past a Discord limit.
        if pages[-1] and (len(candidate) > per_page or embed_limits_problems([_list_page(candidate, widest_footer)])):
            pages.append([entry])
        else:
            pages[-1] = candidate
    return [_list_page(page, f"Page {number} of {len(pages)}") for number, page in enumerate(pages, start=1)]


def worksheet_pages(tool: Tool) -> list[list[WorksheetField]]:
    """Return the worksheet as consecutive modals of at most five inputs, in the file's order."""
    fields = list(tool.worksheet)
    return [fields[start : start + MODAL_INPUTS_MAX] for start in range(0, len(fields), MODAL_INPUTS_MAX)]


def modal_title(tool: Tool, page: int, pages: int) -> str:
    """Return a modal title of at most 45 characters, like "Cost-Benefit Analysis (1/2)"."""
    if not 1 <= page <= pages:
        raise ValueError(f"page {page} is not between 1 and {pages}")
    suffix = f" ({page}/{pages})" if pages > 1 else ""
    room = MODAL_TITLE_MAX - len(suffix)
    name = tool.name
    if len(name) > room:
        # Shorten at a word boundary where possible; the full name is on the card the member opened it from.
        cut = name[: room - 1].rstrip()
        if " " in cut and cut.rfind(" ") > room // 2:
            cut = cut[: cut.rfind(" ")].rstrip(" ,:;-")
        name = f"{cut}…"
    return f"{name}{suffix}"


def render_completed_worksheet(tool: Tool, answers: Mapping[str, str]) -> list[list[dict[str, Any]]]:
    """Return a filled worksheet as messages (each a list of embeds) that fit Discord's limits.

    `answers` maps each worksheet field's label to what the member wrote; a missing label is shown
    as left blank, an unknown one is a programming error.
    """
    labels = {item.label for item in tool.worksheet}
    unknown = sorted(set(answers) - labels)
    if unknown:
        raise ValueError(f"answers for fields the worksheet of {tool.slug!r} does not have: {unknown}")
    # The worksheet is the member's plan, read later on its own: it repeats the warning the card opened with.
    fields: list[dict[str, Any]] = _safety_fields(tool)
    for item in tool.worksheet:
        answer = (answers.get(item.label) or "").strip()
        fields += (
            _text_fields(item.label, answer)
            if answer
            else [{"name": item.label, "value": BLANK_ANSWER, "inline": False}]
        )

    first_title = f"Your worksheet: {tool.name}"
    later_title = f"{first_title} {CONTINUED}"
    description = "Here is what you wrote. Read it back whenever it helps, and bring to a meeting only what you choose."
    widest_footer = f"{WORKSHEET_FOOTER} Part 99 of 99."

    def new_embed(first: bool) -> dict[str, Any]:
        embed: dict[str, Any] = {"title": later_title, "color": EMBED_COLOUR, "fields": []}
        if first:
            embed["title"] = first_title
            embed["description"] = description
        return embed

    embeds = [new_embed(first=True)]
    for field in fields:
        current = embeds[-1]
        size = embed_size(current) + len(widest_footer) + len(field["name"]) + len(field["value"])
        # One embed per message: the 6000-character total, not the embed count, is what runs out first.
        if current["fields"] and (len(current["fields"]) >= EMBED_FIELDS_MAX or size > EMBED_TOTAL_MAX):
            current = new_embed(first=False)
            embeds.append(current)
        current["fields"].append(field)
    for number, embed in enumerate(embeds, start=1):
        part = f" Part {number} of {len(embeds)}." if len(embeds) > 1 else ""
        embed["footer"] = {"text": f"{WORKSHEET_FOOTER}{part}"}
    return [[embed] for embed in embeds]
