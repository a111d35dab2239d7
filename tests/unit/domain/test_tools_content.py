"""The SMART tools content and its model: loading, checking, search and Discord-sized renderings."""

from __future__ import annotations

import shutil
from pathlib import Path

import discord
import pytest
from hypothesis import given, settings, strategies as st

import bot.domain.tools as tools_module
from bot.domain.tool_render import (
    embed_limits_problems,
    modal_limits_problems,
    modal_title,
    render_completed_worksheet,
    render_list_pages,
    render_share_embed,
    render_tool_embed,
    tool_rendering_problems,
    worksheet_pages,
)
from bot.domain.tools import (
    EMBED_TOTAL_MAX,
    MODAL_INPUTS_MAX,
    ProgrammePoint,
    SAFETY_NAME,
    SEARCH_QUERY_MAX,
    Tool,
    ToolContentError,
    WITHDRAWAL_WARNING,
    build_library,
    check_library,
    default_content_dir,
    load_library,
    missing_warning_phrases,
    parse_tool_file,
    reflow_markdown,
)

CONTENT = default_content_dir()
LIBRARY = load_library(CONTENT)
TOOLS = LIBRARY.all()
EXPECTED_SLUGS = {
    "stages-of-change",
    "cost-benefit-analysis",
    "hierarchy-of-values",
    "change-plan-worksheet",
    "urge-log",
    "deads",
    "disarm",
    "abc",
    "brainstorming",
    "unconditional-self-acceptance",
    "lifestyle-balance-pie",
    "smart-goals",
    "enjoyable-absorbing-activities",
    "role-play",
    "urge-surfing",
    "lapse-review",
    "unconditional-other-acceptance",
    "unconditional-life-acceptance",
}
# Every tool that helps a member plan to stop or cut down, or to hold off when an urge comes (issue 12).
CHANGE_PLANNING_SLUGS = {
    "change-plan-worksheet",
    "cost-benefit-analysis",
    "deads",
    "disarm",
    "lapse-review",
    "role-play",
    "smart-goals",
    "stages-of-change",
    "urge-surfing",
}
WORDS_LONG = " ".join(["recovery"] * 600)


def minimal_tool(slug: str = "new-tool", **overrides: str) -> str:
    """Return the text of a small valid tool file; `overrides` replace whole front matter lines."""
    lines = {
        "slug": f"slug: {slug}",
        "name": "name: A New Tool",
        "points": "points: [3]",
        "summary": "summary: A short summary.",
        "when_it_helps": "when_it_helps: When it is needed.",
        "steps": "steps:\n  - Do the first thing.",
        "discussion_prompts": "discussion_prompts:\n  - First prompt?\n  - Second prompt?",
        "worksheet": "worksheet:\n  - label: My thoughts\n    placeholder: Write here",
    }
    lines.update(overrides)
    front = "\n".join(line for line in lines.values() if line)
    return f"---\n{front}\n---\nThe explanation members read.\n"


def assert_discord_accepts(embeds: list[dict]) -> None:
    """Fail on any broken limit, using our checker and discord.py's own length count independently."""
    assert embed_limits_problems(embeds) == []
    assert 1 <= len(embeds) <= 10
    built = [discord.Embed.from_dict(embed) for embed in embeds]
    assert sum(len(embed) for embed in built) <= EMBED_TOTAL_MAX
    for embed in built:
        assert len(embed.fields) <= 25
        assert embed.title is None or len(embed.title) <= 256
        assert embed.description is None or len(embed.description) <= 4096
        for field in embed.fields:
            assert field.name and field.value
            assert len(field.name) <= 256
            assert len(field.value) <= 1024


def field_text(messages: list[list[dict]], label: str) -> str:
    """Return everything rendered under one label (and its continuations), joined."""
    values = [
        field["value"]
        for message in messages
        for embed in message
        for field in embed["fields"]
        if field["name"] in {label, f"{label} (continued)"}
    ]
    return " ".join(values)


# --- Shipped content -----------------------------------------------------------------------------


def test_every_shipped_file_loads():
    files = sorted(path.stem for path in CONTENT.glob("*.md"))
    assert sorted(tool.slug for tool in TOOLS) == files
    assert set(files) >= EXPECTED_SLUGS


def test_shipped_library_has_no_problems():
    assert [str(problem) for problem in check_library(CONTENT)] == []


def test_content_dir_does_not_depend_on_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_content_dir() == CONTENT
    assert len(load_library(default_content_dir())) == len(TOOLS)


def test_every_point_is_covered_and_long_worksheets_span_modals():
    for point in ProgrammePoint:
        assert LIBRARY.by_point(point), point
    for slug in ("cost-benefit-analysis", "hierarchy-of-values"):
        tool = LIBRARY.get(slug)
        assert tool is not None
        assert len(tool.worksheet) > MODAL_INPUTS_MAX
        assert len(worksheet_pages(tool)) >= 2


def test_tone_avoids_labels():
    for path in CONTENT.glob("*.md"):
        text = path.read_text(encoding="utf-8").casefold()
        for word in ("addict", "alcoholic", "junkie"):
            assert word not in text, (path.name, word)


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.slug)
def test_every_rendering_fits_discord(tool: Tool):
    card = render_tool_embed(tool)
    assert card["title"] == tool.name
    assert_discord_accepts([card])
    rendered = " ".join([card["description"], *(field["value"] for field in card["fields"])])
    # Nothing is cut: every paragraph of the explanation and every step reaches the member.
    for paragraph in tool.body.split("\n\n"):
        assert " ".join(paragraph.split()[:8]) in " ".join(rendered.split())
    for step in tool.steps:
        assert step in rendered

    share = render_share_embed(tool)
    assert_discord_accepts([share])
    shared = " ".join(field["value"] for field in share["fields"])
    assert all(prompt in shared for prompt in tool.discussion_prompts)
    assert all(step in shared for step in tool.steps)

    pages = worksheet_pages(tool)
    assert [item for page in pages for item in page] == list(tool.worksheet)
    for number, page in enumerate(pages, start=1):
        title = modal_title(tool, number, len(pages))
        assert modal_limits_problems(title, page) == []
        assert 1 <= len(page) <= 5
        assert len(title) <= 45
        for item in page:
            assert len(item.label) <= 45
            assert len(item.placeholder) <= 100
            assert 1 <= item.max_length <= 4000

    for filler in ("x", "word "):
        answers = {item.label: (filler * item.max_length)[: item.max_length] for item in tool.worksheet}
        messages = render_completed_worksheet(tool, answers)
        for message in messages:
            assert_discord_accepts(message)
        for label, answer in answers.items():
            assert "".join(field_text(messages, label).split()) == "".join(answer.split())

    blank = render_completed_worksheet(tool, {})
    assert len(blank) == 1
    assert_discord_accepts(blank[0])

    # A change-planning tool warns about withdrawal on the card, in the meeting and on the member's own worksheet.
    if tool.plans_change:
        assert tool.withdrawal_warning == WITHDRAWAL_WARNING
        assert card["description"].startswith(f"**{tool.summary}**\n\n{WITHDRAWAL_WARNING}")
        assert share["fields"][0] == {"name": SAFETY_NAME, "value": WITHDRAWAL_WARNING, "inline": False}
        assert blank[0][0]["fields"][0]["value"] == WITHDRAWAL_WARNING
    else:
        assert SAFETY_NAME not in str(share) + str(blank)


@pytest.mark.parametrize("per_page", [1, 3, 8, 25, 100])
def test_list_pages_fit_and_list_each_tool_under_each_point(per_page: int):
    pages = render_list_pages(LIBRARY, per_page)
    listed: list[tuple[str, str]] = []
    for number, page in enumerate(pages, start=1):
        assert_discord_accepts([page])
        assert page["footer"]["text"] == f"Page {number} of {len(pages)}"
        lines = [(field["name"], line) for field in page["fields"] for line in field["value"].split("\n")]
        assert len(lines) <= per_page
        listed += lines
    expected = [
        (f"{point.value}. {point.label}", tool.name) for point in ProgrammePoint for tool in LIBRARY.by_point(point)
    ]
    assert [(group.removesuffix(" (continued)"), line.split("**")[1]) for group, line in listed] == expected


def test_list_pages_of_an_empty_library():
    pages = render_list_pages(build_library({}))
    assert len(pages) == 1
    assert_discord_accepts(pages)
    with pytest.raises(ValueError, match="per_page"):
        render_list_pages(LIBRARY, 0)


# --- Broken content ------------------------------------------------------------------------------


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


BROKEN_FILES = {
    "bad-yaml.md": ("front matter", "---\nslug: bad-yaml\nname: [unclosed\n---\nBody\n"),
    "no-front-matter.md": ("front matter", "Just a body, no fields.\n"),
    "missing-summary.md": ("summary", minimal_tool("missing-summary", summary="")),
    "point-five.md": ("points[2]", minimal_tool("point-five", points="points: [1, 5]")),
    "long-summary.md": ("summary", minimal_tool("long-summary", summary=f"summary: {'s' * 201}")),
    "long-label.md": (
        "worksheet[1].label",
        minimal_tool("long-label", worksheet=f"worksheet:\n  - label: {'l' * 46}"),
    ),
    "one-prompt.md": (
        "discussion_prompts",
        minimal_tool("one-prompt", discussion_prompts="discussion_prompts:\n  - Only one?"),
    ),
    "typo-field.md": ("sumary", minimal_tool("typo-field", when_it_helps="when_it_helps: x\nsumary: y")),
    "wrong-name.md": ("slug", minimal_tool("other-name")),
    "a-copy.md": ("slug", minimal_tool("good-tool")),
    "same-labels.md": (
        "worksheet",
        minimal_tool("same-labels", worksheet="worksheet:\n  - label: Notes\n  - label: notes"),
    ),
    "body-field.md": ("body", minimal_tool("body-field", when_it_helps="when_it_helps: x\nbody: y")),
    "no-worksheet.md": ("worksheet", minimal_tool("no-worksheet", worksheet="worksheet: []")),
}


def test_broken_files_are_each_reported_and_others_still_load(tmp_path):
    files = {name: text for name, (_, text) in BROKEN_FILES.items()}
    files["good-tool.md"] = minimal_tool("good-tool")
    folder = write_folder(tmp_path / "content", files)
    shutil.copy(CONTENT / "urge-log.md", folder / "urge-log.md")

    library = load_library(folder)
    assert sorted(tool.slug for tool in library) == ["good-tool", "urge-log"]
    problems = check_library(folder)
    for name, (field, _) in BROKEN_FILES.items():
        assert any(problem.file == name and problem.field == field for problem in problems), (name, problems)
    assert not [problem for problem in problems if problem.file in {"good-tool.md", "urge-log.md"}]
    assert "'good-tool' is already used by good-tool.md" in {problem.message for problem in problems}
    # One problem per mistake: a bad item is not also reported as a missing one.
    assert [problem.field for problem in problems if problem.file == "long-label.md"] == ["worksheet[1].label"]
    # Each problem reads as "file: field: message" for the author.
    assert all(str(problem).startswith(f"{problem.file}: ") for problem in problems)


def test_a_folder_read_again_shows_each_edit_and_callers_never_share_a_library(tmp_path):
    folder = write_folder(tmp_path / "content", {"good-tool.md": minimal_tool("good-tool")})
    first = load_library(folder)
    again = load_library(folder)
    assert first is not again
    again.problems.append("a caller's own note")
    assert "a caller's own note" not in load_library(folder).problems
    # Built once per content, so an edited file, a new file and a removed one are all seen at the next read.
    assert [tool.name for tool in load_library(folder)] == ["A New Tool"]
    (folder / "good-tool.md").write_text(minimal_tool("good-tool", name="name: A Better Tool"))
    assert [tool.name for tool in load_library(folder)] == ["A Better Tool"]
    (folder / "other-tool.md").write_text(minimal_tool("other-tool", name="name: Another Tool"))
    assert sorted(tool.slug for tool in load_library(folder)) == ["good-tool", "other-tool"]
    (folder / "good-tool.md").unlink()
    assert [tool.slug for tool in load_library(folder)] == ["other-tool"]


def test_messages_say_what_is_wrong():
    def problems_of(text: str) -> list[str]:
        with pytest.raises(ToolContentError) as caught:
            parse_tool_file(text, "t.md")
        return [f"{problem.field}: {problem.message}" for problem in caught.value.problems]

    assert problems_of(minimal_tool(summary=f"summary: {'s' * 201}")) == [
        "summary: is 201 characters long; the limit is 200"
    ]
    assert "must be 1, 2, 3 or 4" in problems_of(minimal_tool(points="points: [5]"))[0]
    assert problems_of(minimal_tool(summary=""))[0] == "summary: is missing"
    assert "quotes" in problems_of(minimal_tool(summary="summary: yes"))[0]
    assert "line 3" in problems_of("---\nslug: x\nname: [unclosed\n---\nBody\n")[0]


def test_all_problems_of_one_file_are_listed_together():
    text = minimal_tool(summary=f"summary: {'s' * 201}", points="points: [9]", name="")
    with pytest.raises(ToolContentError) as caught:
        parse_tool_file(text, "t.md")
    assert {problem.field for problem in caught.value.problems} == {"summary", "points[1]", "name"}


def test_folder_level_problems(tmp_path):
    assert check_library(tmp_path / "missing")[0].message == "folder not found"
    folder = write_folder(tmp_path / "content", {"notes.txt": "x", "_draft.md": "not a tool", "good-tool.md": ""})
    (folder / "good-tool.md").write_text(minimal_tool("good-tool"), encoding="utf-8")
    problems = check_library(folder)
    assert any(problem.file == "notes.txt" for problem in problems)
    assert not any(problem.file == "_draft.md" for problem in problems)
    # A library with only point 3 tells the author the other points have no tool.
    assert {problem.message for problem in problems if problem.field == "points"} == {
        f"no tool covers point {point.value} ({point.label})" for point in ProgrammePoint if point != 3
    }


def test_rendering_limits_are_checked(tmp_path):
    huge_body = "\n\n".join(["A paragraph of explanation. " * 30] * 10)
    text = minimal_tool("huge").replace("The explanation members read.", huge_body)
    folder = write_folder(tmp_path / "content", {"huge.md": text})
    problems = check_library(folder)
    assert any(problem.file == "huge.md" and problem.field == "rendering: tool card" for problem in problems)
    assert len(load_library(folder)) == 0


# --- New content and search ----------------------------------------------------------------------


def test_new_tool_file_is_found_without_code_change(tmp_path):
    folder = write_folder(tmp_path / "content", {"gratitude-list.md": minimal_tool("gratitude-list")})
    text = (folder / "gratitude-list.md").read_text(encoding="utf-8")
    (folder / "gratitude-list.md").write_text(text.replace("A New Tool", "Gratitude List"), encoding="utf-8")
    library = load_library(folder)
    tool = library.get("gratitude-list")
    assert tool is not None
    assert tool.name == "Gratitude List"
    assert library.search("gratitude")[0] is tool
    assert library.search("gratitud list")[0] is tool
    assert library.find("Gratitude List") is tool


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("disarn", "disarm"),
        ("DISARM", "disarm"),
        ("cost benefit", "cost-benefit-analysis"),
        ("cost-benifit", "cost-benefit-analysis"),
        ("cba", "cost-benefit-analysis"),
        ("abc", "abc"),
        ("hierachy", "hierarchy-of-values"),
        ("stages", "stages-of-change"),
        ("deds", "deads"),
        ("urge log", "urge-log"),
        ("role play", "role-play"),
        ("problem solving", "brainstorming"),
        ("self acceptance", "unconditional-self-acceptance"),
        ("balance", "lifestyle-balance-pie"),
        ("smart goal", "smart-goals"),
        ("vaci", "enjoyable-absorbing-activities"),
        ("VACI", "enjoyable-absorbing-activities"),
        ("vital absorbing creative interest", "enjoyable-absorbing-activities"),
        ("urge surfing", "urge-surfing"),
        ("surf", "urge-surfing"),
        ("lapse", "lapse-review"),
        ("slip", "lapse-review"),
        ("other acceptance", "unconditional-other-acceptance"),
        ("uoa", "unconditional-other-acceptance"),
        ("life acceptance", "unconditional-life-acceptance"),
        ("ula", "unconditional-life-acceptance"),
    ],
)
def test_search_forgives_typos(query: str, slug: str):
    assert LIBRARY.search(query)[0].slug == slug
    found = LIBRARY.find(query)
    assert found is not None
    assert found.slug == slug


def test_search_limits_and_empty_query():
    assert LIBRARY.search("", limit=25) == TOOLS
    assert len(LIBRARY.search("", limit=3)) == 3
    assert LIBRARY.search("zzzzqqqq") == []
    assert LIBRARY.find("zzzzqqqq") is None


def test_search_reads_no_more_of_a_huge_query_than_any_name_could_match(monkeypatch: pytest.MonkeyPatch):
    compared: list[str] = []
    match = tools_module._match

    def recording(query: str, key: str):
        compared.append(query)
        return match(query, key)

    monkeypatch.setattr(tools_module, "_match", recording)
    # A client sends up to 6,000 characters; comparing all of them with every key took seconds.
    assert LIBRARY.search("hierachy of values " + "x" * 6000)[0].slug == "hierarchy-of-values"
    assert compared
    assert max(len(query) for query in compared) <= SEARCH_QUERY_MAX
    assert LIBRARY.search("!" * 5000 + "urge") == LIBRARY.all()


def test_library_is_sorted_and_grouped():
    names = [tool.name.casefold() for tool in TOOLS]
    assert names == sorted(names)
    assert all(ProgrammePoint.URGES in tool.points for tool in LIBRARY.by_point(2))
    assert LIBRARY.get("no-such-tool") is None


# --- Pieces --------------------------------------------------------------------------------------


def test_modal_title_shortens_long_names():
    tool = parse_tool_file(minimal_tool(name=f"name: {'Very long tool name ' * 4}".rstrip()), "t.md")
    titles = [modal_title(tool, page, 3) for page in (1, 2, 3)]
    assert all(len(title) <= 45 for title in titles)
    assert titles[1].endswith("… (2/3)")
    cba = LIBRARY.get("cost-benefit-analysis")
    assert cba is not None
    assert modal_title(cba, 1, 2) == "Cost-Benefit Analysis (1/2)"
    assert modal_title(cba, 1, 1) == "Cost-Benefit Analysis"
    with pytest.raises(ValueError):
        modal_title(cba, 3, 2)


def test_completed_worksheet_rejects_unknown_answers_and_shows_blanks():
    tool = LIBRARY.get("urge-log")
    assert tool is not None
    with pytest.raises(ValueError, match="does not have"):
        render_completed_worksheet(tool, {"Not a label": "x"})
    first = tool.worksheet[0].label
    [[embed]] = render_completed_worksheet(tool, {first: "  Tuesday, at home  "})
    values = {field["name"]: field["value"] for field in embed["fields"]}
    assert values[first] == "Tuesday, at home"
    assert values[tool.worksheet[1].label] == "*Left blank*"


def test_embed_limits_checker_catches_each_limit():
    field = {"name": "n", "value": "v"}
    cases = {
        "title": {"title": "t" * 257},
        "description": {"description": "d" * 4097},
        "fields": {"fields": [field] * 26},
        "field 1 name": {"fields": [{"name": "n" * 257, "value": "v"}]},
        "field 1 value": {"fields": [{"name": "n", "value": "v" * 1025}]},
        "empty": {"fields": [{"name": "", "value": "v"}]},
        "footer": {"footer": {"text": "f" * 2049}},
        "author": {"author": {"name": "a" * 257}},
    }
    for expected, embed in cases.items():
        assert any(expected in problem for problem in embed_limits_problems([embed])), expected
    assert embed_limits_problems([{"description": "d" * 4000}, {"description": "d" * 2001}])
    assert embed_limits_problems([{"title": "t"}] * 11)
    assert embed_limits_problems([{"title": "t" * 256, "description": "d" * 4096, "fields": [field] * 25}]) == []


def test_reflow_joins_wrapped_lines_but_keeps_lists():
    text = "One line\nwrapped here.\n\n- item one\n  continues\n- item two\n\n1. first\n2. second"
    assert reflow_markdown(text) == "One line wrapped here.\n\n- item one continues\n- item two\n\n1. first\n2. second"


def test_single_point_may_be_written_without_a_list():
    tool = parse_tool_file(minimal_tool(points="points: 2"), "t.md")
    assert tool.points == (ProgrammePoint.URGES,)
    assert tool.point_names == ["Coping with urges"]


@settings(max_examples=60, deadline=None)
@given(
    body=st.text(alphabet=st.sampled_from("ab .\n"), min_size=1, max_size=5500).filter(lambda text: text.strip()),
    answer=st.text(alphabet=st.sampled_from("ab .\n"), max_size=4000),
)
def test_renderings_never_drop_text(body: str, answer: str):
    base = parse_tool_file(minimal_tool(), "t.md")
    tool = base.model_copy(update={"body": body})
    card = render_tool_embed(tool)
    rendered = card["description"] + "".join(field["value"] for field in card["fields"][:-3])
    assert "".join(f"**{tool.summary}**{body}".split()) == "".join(rendered.split())
    messages = render_completed_worksheet(tool, {"My thoughts": answer})
    for message in messages:
        assert embed_limits_problems(message) == []
    if answer.strip():
        assert "".join(field_text(messages, "My thoughts").split()) == "".join(answer.split())


def test_content_guide_example_is_a_valid_tool():
    guide = (CONTENT.parent / "docs" / "CONTENT_GUIDE.md").read_text(encoding="utf-8")
    example = guide.split("```\n---\n", 1)[1].split("\n```", 1)[0]
    tool = parse_tool_file(f"---\n{example}\n", "gratitude-list.md")
    assert tool.slug == "gratitude-list"
    assert tool_rendering_problems(tool) == []


# --- Issue 12: withdrawal warning, new tools, SMART wording ---------------------------------------

FLAGGED = "plans_change: true"


def warned_tool(slug: str = "new-tool", warning: str = WITHDRAWAL_WARNING, **overrides: str) -> str:
    """Return a valid change-planning tool whose explanation starts with `warning`."""
    text = minimal_tool(slug, when_it_helps=f"when_it_helps: When it is needed.\n{FLAGGED}", **overrides)
    return text.replace("The explanation members read.", f"{warning}\n\nThe explanation members read.")


def test_a_change_planning_tool_without_the_warning_fails_the_check(tmp_path):
    no_warning = minimal_tool("no-warning", when_it_helps=f"when_it_helps: When it is needed.\n{FLAGGED}")
    # The warning must open the explanation, where the card shows it first; further down does not count.
    buried = minimal_tool("buried", when_it_helps=f"when_it_helps: When it is needed.\n{FLAGGED}").replace(
        "The explanation members read.", f"The explanation members read.\n\n{WITHDRAWAL_WARNING}"
    )
    # Half a warning (no opioids, no one to talk to) is not a warning.
    partial = warned_tool("partial", "Stopping alcohol or benzodiazepines suddenly can be dangerous.")
    folder = write_folder(
        tmp_path / "content",
        {
            "no-warning.md": no_warning,
            "buried.md": buried,
            "partial.md": partial,
            "good-tool.md": warned_tool("good-tool"),
        },
    )
    problems = check_library(folder)
    for name in ("no-warning.md", "buried.md", "partial.md"):
        [problem] = [problem for problem in problems if problem.file == name]
        assert problem.field == "plans_change"
        assert WITHDRAWAL_WARNING in problem.message
    partial_problem = next(problem.message for problem in problems if problem.file == "partial.md")
    assert "(it does not mention: opioids, a GP or drug and alcohol service, first)" in partial_problem
    # A tool that would reach members without the warning is not served at all.
    assert [tool.slug for tool in load_library(folder)] == ["good-tool"]


def test_the_warning_is_recognised_in_an_authors_own_words():
    own_words = (
        "Please note: if you   have been\nusing *alcohol*, benzos or opiates heavily every day, going cold turkey "
        "can be life-threatening. See your doctor before you start."
    )
    assert missing_warning_phrases(own_words) == []
    tool = parse_tool_file(warned_tool(warning=own_words), "new-tool.md")
    assert tool.withdrawal_warning == reflow_markdown(own_words)
    assert missing_warning_phrases("Talk to your GP first.") == [
        "alcohol",
        "benzodiazepines",
        "opioids",
        "stopping suddenly",
        "can be dangerous",
    ]


def test_a_tool_that_sounds_like_change_planning_must_say_which_it_is(tmp_path):
    unflagged = minimal_tool("unflagged", steps="steps:\n  - Plan how you will cut down over the next week.")
    declined = minimal_tool(
        "declined", steps="steps:\n  - Notice when you give up on a hobby.", points="points: [3]\nplans_change: false"
    )
    folder = write_folder(tmp_path / "content", {"unflagged.md": unflagged, "declined.md": declined})
    problems = [problem for problem in check_library(folder) if problem.field == "plans_change"]
    assert [(problem.file, "'cut down'" in problem.message) for problem in problems] == [("unflagged.md", True)]
    # Only a guess from the wording: the tool is still served while the author decides.
    assert sorted(tool.slug for tool in load_library(folder)) == ["declined", "unflagged"]


def test_every_shipped_tool_says_whether_it_plans_change_and_the_planning_ones_warn():
    for path in CONTENT.glob("*.md"):
        assert "\nplans_change: " in path.read_text(encoding="utf-8"), path.name
    assert {tool.slug for tool in TOOLS if tool.plans_change} == CHANGE_PLANNING_SLUGS
    for slug in CHANGE_PLANNING_SLUGS:
        tool = LIBRARY.get(slug)
        assert tool is not None
        assert tool.withdrawal_warning == WITHDRAWAL_WARNING, slug
    # The warning itself names what the issue asks for.
    for phrase in ("alcohol", "benzodiazepines", "opioids", "stopping suddenly", "dangerous", "GP", "drug and alcohol"):
        assert phrase in WITHDRAWAL_WARNING


def test_vaci_finds_the_absorbing_activities_tool():
    found = LIBRARY.find("vaci")
    assert found is not None
    assert found.slug == "enjoyable-absorbing-activities"
    assert "Vital Absorbing Creative Interest" in found.body


def test_new_tools_load_with_worksheets_and_fit_their_points():
    expected = {
        "urge-surfing": ProgrammePoint.URGES,
        "lapse-review": ProgrammePoint.THOUGHTS,
        "unconditional-other-acceptance": ProgrammePoint.THOUGHTS,
        "unconditional-life-acceptance": ProgrammePoint.THOUGHTS,
    }
    for slug, point in expected.items():
        tool = LIBRARY.get(slug)
        assert tool is not None, slug
        assert point in tool.points
        assert tool.worksheet and tool_rendering_problems(tool) == []
    usa = LIBRARY.get("unconditional-self-acceptance")
    assert usa is not None
    assert "Unconditional Other-Acceptance" in usa.body and "Unconditional Life-Acceptance" in usa.body


def test_stages_of_change_shows_the_usual_names_beside_the_plain_ones():
    tool = LIBRARY.get("stages-of-change")
    assert tool is not None
    for plain, usual in (
        ("Not yet considering change", "precontemplation"),
        ("Thinking about it", "contemplation"),
        ("Getting ready", "preparation"),
        ("Taking action", "action"),
        ("Keeping it going", "maintenance"),
    ):
        assert f"**{plain}** ({usual})" in tool.body


def test_content_is_smart_not_twelve_step():
    for path in CONTENT.glob("*.md"):
        text = " ".join(path.read_text(encoding="utf-8").casefold().split())
        for phrase in ("cross-talk", "crosstalk", "powerless", "higher power", "sponsor", "disease"):
            assert phrase not in text, (path.name, phrase)


def test_content_guide_quotes_the_warning_the_bot_checks():
    guide = (CONTENT.parent / "docs" / "CONTENT_GUIDE.md").read_text(encoding="utf-8")
    assert " ".join(WITHDRAWAL_WARNING.split()) in " ".join(guide.split())
    assert "plans_change: false" in guide.split("```\n---\n", 1)[1].split("\n```", 1)[0]
