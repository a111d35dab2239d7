"""The withdrawal warning: what a tool that helps plan to stop or cut down must say first, and the check for it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.domain.text import normalise

if TYPE_CHECKING:
    from bot.domain.tools import Tool

__all__ = [
    "WITHDRAWAL_KEY_PHRASES",
    "WITHDRAWAL_WARNING",
    "first_paragraph",
    "likely_plans_change",
    "missing_warning_phrases",
    "withdrawal_problems",
]

# Stopping these suddenly after heavy regular use can cause withdrawal seizures or worse, so every tool that helps a
# member plan to stop or cut down opens its explanation with this (or the same in the file's own words, so a deployer
# can name local services): the first thing on the card after the summary.
WITHDRAWAL_WARNING = (
    "**Safety first:** if you have been drinking alcohol or taking benzodiazepines (such as diazepam) or opioids "
    "(such as heroin, methadone or codeine) heavily and regularly, stopping suddenly can be dangerous, even "
    "life-threatening. Talk to a GP or your local drug and alcohol service first: they can help you stop or cut "
    "down safely."
)
# What the warning must say, each as alternative wordings, matched in one paragraph of normalised text.
WITHDRAWAL_KEY_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("alcohol", ("alcohol",)),
    ("benzodiazepines", ("benzodiazepine", "benzos")),
    ("opioids", ("opioid", "opiate")),
    ("stopping suddenly", ("sudden", "abrupt", "all at once", "cold turkey")),
    ("can be dangerous", ("danger", "life threatening", "unsafe", "risky")),
    (
        "a GP or drug and alcohol service",
        (
            "gp",
            "doctor",
            "prescriber",
            "drug and alcohol service",
            "alcohol and drug service",
            "addiction service",
            "treatment service",
            "aod service",
        ),
    ),
    ("first", ("first", "before")),
)
# Wording that suggests a tool helps plan to stop or cut down; such a file must say `plans_change: true` or `false`.
_CHANGE_PLANNING = re.compile(
    r"\b(?:cut(?:ting)? (?:down|back)|stop(?:ping)? (?:using|drinking|gambling|or)|by (?:stopping|quitting)"
    r"|quit(?:ting)?|give up|giving up|taper(?:ing)?|abstain|abstinence|plan (?:to|for) (?:stop|quit|cut|change)"
    r"|change plan|not using|not drinking|without acting on|(?:change|goal) (?:i|you) want to make"
    r"|decided to (?:change|stop|quit|cut))\b"
)


def first_paragraph(body: str) -> str:
    """Return the first paragraph of a (reflowed) explanation: the one the card shows first."""
    return body.split("\n\n", 1)[0]


def missing_warning_phrases(text: str) -> list[str]:
    """Return what a withdrawal warning in `text` fails to say; empty when it says it all."""
    # Words only, so markup, hyphens and line breaks never hide a phrase; a wording matches at the start of a word.
    words = f" {normalise(text)} "
    return [
        meaning
        for meaning, wordings in WITHDRAWAL_KEY_PHRASES
        if not any(f" {normalise(wording)}" in words for wording in wordings)
    ]


def likely_plans_change(tool: Tool) -> str | None:
    """Return wording of the tool that sounds like planning to stop or cut down, or None."""
    texts = [
        tool.name,
        *tool.aliases,
        tool.summary,
        tool.when_it_helps,
        *tool.steps,
        *tool.discussion_prompts,
        *(f"{item.label} {item.placeholder}" for item in tool.worksheet),
    ]
    for text in texts:
        found = _CHANGE_PLANNING.search(normalise(text))
        if found:
            return found.group(0)
    return None


def withdrawal_problems(tool: Tool) -> list[tuple[str, str]]:
    """Return (field, message) when a change-planning tool lacks the withdrawal warning where members see it."""
    if not tool.plans_change:
        return []
    missing = missing_warning_phrases(first_paragraph(tool.body))
    if not missing:
        return []
    message = (
        "the tool helps plan to stop or cut down, so the explanation's first paragraph must be the withdrawal "
        f"warning (it does not mention: {', '.join(missing)}). For example: {WITHDRAWAL_WARNING}"
    )
    return [("plans_change", message)]
