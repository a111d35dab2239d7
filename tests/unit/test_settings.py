import pytest

from bot.settings import DEFAULT_DATABASE_URL, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("DISCORD_TOKEN", "DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT", "DEV_GUILD_ID", "PSEUDONYM_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_load_without_a_token():
    result = load_settings()
    assert result.problems == []
    assert result.settings is not None
    assert result.settings.database_url == DEFAULT_DATABASE_URL
    assert result.settings.discord_token is None
    assert str(result.settings.pseudonym_key_file) == "data/pseudonym.key"


def test_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc.def\nLOG_LEVEL=debug\nDEV_GUILD_ID=\n")
    settings = load_settings().settings
    assert settings is not None
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "abc.def"
    assert settings.log_level == "DEBUG"
    assert settings.dev_guild_id is None
    assert "abc.def" not in repr(settings)


def test_every_problem_is_one_line_naming_the_setting(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("DEV_GUILD_ID", "not-a-number")
    monkeypatch.setenv("DATABASE_URL", "mysql://localhost/x")
    problems = load_settings().problems
    assert len(problems) == 3
    assert all("\n" not in line for line in problems)
    assert {line.split(":")[0] for line in problems} == {"LOG_FORMAT", "DEV_GUILD_ID", "DATABASE_URL"}


def test_secret_token_is_never_echoed(monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    problems = load_settings().problems
    assert problems and problems[0].startswith("LOG_LEVEL")
