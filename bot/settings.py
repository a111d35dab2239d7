"""Settings read from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.db.urls import DEFAULT_DATABASE_URL, sqlite_path_of
from bot.domain.shards import ShardScope

log = logging.getLogger(__name__)

SETUP_GUIDE = "docs/HOSTING.md"
SUPPORTED_DB_PREFIXES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class Settings(BaseSettings):
    """Every setting the bot reads; see `.env.example` for what each one means."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr | None = Field(default=None, description="Bot token from the developer portal.")
    database_url: str = DEFAULT_DATABASE_URL
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    dev_guild_id: int | None = Field(default=None, gt=0)
    pseudonym_key_file: Path = Path("data/pseudonym.key")
    tools_content_dir: Path | None = None
    # Several processes on one PostgreSQL: each runs some shards and looks after their guilds only.
    shard_count: int | None = Field(default=None, ge=1, le=1024)
    shard_ids: str | None = None
    # The central office's web dashboard (`python -m bot web`, docs/CENTRAL_OFFICE.md).
    web_oauth_client_id: int | None = Field(default=None, gt=0)
    web_oauth_client_secret: SecretStr | None = None
    web_oauth_redirect_url: str | None = None
    web_exact_role_id: int | None = Field(default=None, gt=0)
    web_session_key_file: Path = Path("data/web_session.key")
    web_session_hours: int = Field(default=8, ge=1, le=24 * 7)
    web_role_recheck_seconds: int = Field(default=300, ge=0, le=3600)
    discord_api_base: str = "https://discord.com/api/v10"
    discord_oauth_authorize_url: str = "https://discord.com/oauth2/authorize"
    # The central office's public contact (phone, email or web address) printed on posters; empty = none.
    office_contact: str | None = Field(default=None, max_length=200)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "dev_guild_id",
        "discord_token",
        "tools_content_dir",
        "shard_count",
        "shard_ids",
        "web_oauth_client_id",
        "web_oauth_client_secret",
        "web_oauth_redirect_url",
        "web_exact_role_id",
        "office_contact",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` lists optional settings with empty values; empty means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(SUPPORTED_DB_PREFIXES):
            accepted = " or ".join(f"{prefix}..." for prefix in SUPPORTED_DB_PREFIXES)
            raise ValueError(f"must start with {accepted}")
        return value

    @field_validator("web_oauth_redirect_url", "discord_api_base", "discord_oauth_authorize_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be a web address starting with https:// (or http:// on this host only)")
        return value.rstrip("/") if value is not None else None

    @model_validator(mode="after")
    def _oauth_complete(self) -> Settings:
        oauth = (self.web_oauth_client_id, self.web_oauth_client_secret, self.web_oauth_redirect_url)
        if any(value is not None for value in oauth) and any(value is None for value in oauth):
            raise ValueError(
                "WEB_OAUTH_CLIENT_ID, WEB_OAUTH_CLIENT_SECRET and WEB_OAUTH_REDIRECT_URL go together: set all three"
            )
        return self

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("SHARD_IDS needs SHARD_COUNT")
            self.shard_scope()
        return self

    def shard_id_list(self) -> list[int] | None:
        """Return SHARD_IDS as numbers (None: every shard)."""
        if self.shard_ids is None:
            return None
        try:
            return sorted({int(part) for part in self.shard_ids.split(",") if part.strip()})
        except ValueError:
            raise ValueError(
                f"SHARD_IDS must be comma-separated numbers such as 0,1 (got {self.shard_ids!r})"
            ) from None

    def shard_scope(self) -> ShardScope:
        """Return the guilds this process looks after."""
        ids = self.shard_id_list()
        try:
            return ShardScope(self.shard_count or 1, tuple(ids) if ids is not None else None)
        except ValueError as exc:
            raise ValueError(f"SHARD_IDS: {exc}") from None

    def sqlite_path(self) -> Path | None:
        """Return the SQLite database file, or None for PostgreSQL and in-memory databases."""
        return sqlite_path_of(self.database_url)


@dataclass(frozen=True)
class SettingsResult:
    """Settings, or the problems that stopped them loading (one line each)."""

    settings: Settings | None
    problems: list[str]


def load_settings(**overrides: object) -> SettingsResult:
    """Read settings from the environment and `.env`, collecting every problem instead of raising."""
    try:
        return SettingsResult(Settings(**overrides), [])  # type: ignore[arg-type]
    except ValidationError as exc:
        return SettingsResult(None, [_describe(error) for error in exc.errors()])


def _describe(error: ErrorDetails) -> str:
    name = "_".join(str(part) for part in error.get("loc", ())).upper()
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not name:
        # A rule across settings: its message names them.
        return message
    value = error.get("input")
    secret = name in ("DISCORD_TOKEN", "WEB_OAUTH_CLIENT_SECRET")
    shown = "" if secret or isinstance(value, dict) else f" (got {value!r})"
    return f"{name}: {message}{shown}"
