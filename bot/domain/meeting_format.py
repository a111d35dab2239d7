"""The SMART meeting format: templates of phases, and the texts a meeting posts."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from bot.domain.text import MESSAGE_LIMIT
from bot.domain.yaml_text import load_yaml

DEFAULT_TEMPLATE = "standard-90"
# The opening statement is read on phones: what comes before the group's crisis text stays this short.
OPENING_MAX_BEFORE_CRISIS = 900
CRISIS_HEADING = "**If you need help now**"
DEFAULT_HAT_TEXT = (
    "Pass the hat: SMART Recovery groups are run by volunteers and supported by donations. If you are able "
    "to give, the facilitator will share how. There is never any pressure to give."
)


class PhaseSpec(BaseModel):
    """One phase of a meeting template."""

    key: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    title: str = Field(min_length=1, max_length=60)
    minutes: int = Field(ge=1, le=240)
    prompt: str = Field(default="", max_length=1500)
    # Advance to the next phase by itself when the time is up (otherwise only nudge the facilitator).
    auto_advance: bool = False
    # Pass the hat can be switched off by the group; other phases always run.
    optional: bool = False
    nudge_minutes_before: int = Field(default=3, ge=0, le=30)


class MeetingTemplate(BaseModel):
    """A meeting format: its phases in order."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    name: str = Field(min_length=1, max_length=100)
    duration_minutes: int = Field(ge=10, le=480)
    phases: list[PhaseSpec] = Field(min_length=2, max_length=20)

    @field_validator("phases")
    @classmethod
    def _unique_keys(cls, phases: list[PhaseSpec]) -> list[PhaseSpec]:
        keys = [phase.key for phase in phases]
        if len(set(keys)) != len(keys):
            raise ValueError("phase keys must be unique")
        return phases

    def active_phases(self, *, pass_the_hat: bool) -> list[PhaseSpec]:
        """Return the phases this group runs (optional ones dropped when switched off)."""
        return [phase for phase in self.phases if pass_the_hat or not phase.optional]


def default_templates_dir() -> Path:
    """Return the bundled templates folder, found from the package rather than the working directory."""
    return Path(__file__).resolve().parents[2] / "meeting_templates"


def load_templates(directory: Path | None = None) -> dict[str, MeetingTemplate]:
    """Read every `*.yaml` template in `directory`, raising ValueError naming the broken file."""
    templates: dict[str, MeetingTemplate] = {}
    for path in sorted((directory or default_templates_dir()).glob("*.yaml")):
        try:
            template = MeetingTemplate.model_validate(load_yaml(path.read_text(encoding="utf-8")))
        except (ValidationError, yaml.YAMLError) as exc:
            raise ValueError(f"{path.name}: {exc}") from exc
        if template.slug != path.stem:
            raise ValueError(f"{path.name}: slug {template.slug!r} must match the file name")
        templates[template.slug] = template
    return templates


def opening_statement(crisis_resources: str) -> str:
    """Return the opening statement read at the start of every meeting, in our own words."""
    # SMART meetings are discussions, so the guidelines invite responses; the 12-step "no cross-talk" rule is absent.
    text = (
        "**Welcome to this SMART Recovery meeting.**\n"
        "SMART Recovery is a self-management approach to changing addictive behaviours, with four points: "
        "building and keeping motivation; coping with urges; managing thoughts, feelings and behaviours; and "
        "living a balanced life. You choose the practical tools that help you.\n\n"
        "This is peer support, not therapy or medical advice. Taking part is optional: you can just listen, "
        'or say "pass" at any time.\n\n'
        "**Meeting guidelines**\n"
        "This is a discussion: you are welcome to respond to each other and ask questions.\n"
        "- Respect everyone, whatever their goal or path.\n"
        "- Confidentiality: what is shared here stays here. Do not reveal who attended.\n"
        "- One person at a time.\n"
        "- No labels: talk about behaviours, not what people are.\n"
        "- Focus on the present and the future rather than war stories.\n"
        "- Share what has worked for you rather than telling people what to do.\n\n"
        f"{CRISIS_HEADING}\n{crisis_resources}"
    )
    if len(text) > MESSAGE_LIMIT:
        # The crisis text is capped at setup; this only guards a future change to the wording above.
        raise ValueError("opening statement exceeds one message")
    return text


def phase_prompt(
    phase: PhaseSpec, *, number: int, total: int, pass_the_hat_text: str | None, tool_line: str | None
) -> str:
    """Return what a phase posts for members when it begins."""
    body = phase.prompt
    if phase.key == "pass-the-hat":
        body = pass_the_hat_text or DEFAULT_HAT_TEXT
    if phase.key == "working-time" and tool_line:
        body = f"{body}\n\n{tool_line}".strip()
    return f"**{phase.title}** ({number}/{total}, about {phase.minutes} min)\n{body}".strip()
