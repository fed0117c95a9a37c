"""Configuration: environment, .env and the YAML file together; secrets never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import CONFIG_ENV, ConfigFileError, Settings
from bot.config_cli import effective, mask_url_password
from bot.config_cli import main as config_main

SECRETS = {"DISCORD_TOKEN": "discord-token-s3cr3t", "SLACK_BOT_TOKEN": "xoxb-bot-s3cr3t",
           "SLACK_APP_TOKEN": "xapp-app-s3cr3t", "SLACK_SIGNING_SECRET": "signing-s3cr3t"}


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Secrets split between the environment and .env, non-secrets in YAML."""
    for key in ("DISCORD_PUBLIC_KEY", "DISCORD_APPLICATION_ID", "DATABASE_URL", "RUNLOCALAI_LOG_JSON"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"SLACK_APP_TOKEN={SECRETS['SLACK_APP_TOKEN']}\n"
                                   f"SLACK_SIGNING_SECRET={SECRETS['SLACK_SIGNING_SECRET']}\n"
                                   "RUNLOCALAI_PORT=9000\n")
    for key in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.setenv(key, SECRETS[key])
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pg-s3cr3t@127.0.0.1:5432/bot")
    cfg = tmp_path / "runlocalai.yaml"
    cfg.write_text("log_json: true\nport: 7000\nops_port: 9200\nSHARD_COUNT: 2\nSHARD_IDS: [0, 1]\ncooldown_seconds: 1.5\n")
    monkeypatch.setenv(CONFIG_ENV, str(cfg))
    return cfg


def test_sources_combine_with_environment_over_dotenv_over_yaml(configured: Path) -> None:
    """YAML supplies non-secrets, .env overrides YAML, the environment supplies secrets."""
    s = Settings()
    assert s.log_json is True and s.ops_port == 9200 and s.shard_ids == [0, 1] and s.cooldown_seconds == 1.5
    assert s.port == 9000   # .env beats the YAML file
    assert s.discord_token is not None and s.discord_token.get_secret_value() == SECRETS["DISCORD_TOKEN"]
    assert s.slack_app_token is not None and s.slack_app_token.get_secret_value() == SECRETS["SLACK_APP_TOKEN"]


def test_config_check_never_prints_secrets(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Text and JSON output mask every secret and the database password, and list the services."""
    for args in (["check"], ["check", "--json"], ["check", "--json", "--slack-http"]):
        assert config_main(args) == 0
        out = capsys.readouterr().out
        for secret in [*SECRETS.values(), "pg-s3cr3t"]:
            assert secret not in out
        assert "********" in out
    report = effective(Settings())
    assert report["services"] == ["console", "discord-gateway", "slack-socket"]
    assert report["settings"]["discord_token"] == "********" and report["settings"]["discord_public_key"] is None
    json.dumps(report, default=str)


def test_secret_in_yaml_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token in the YAML file is an error, and so is an unknown key."""
    for text in ("discord_token: abc\n", "SLACK_SIGNING_SECRET: abc\n", "no_such_setting: 1\n"):
        cfg = tmp_path / "c.yaml"
        cfg.write_text(text)
        monkeypatch.setenv(CONFIG_ENV, str(cfg))
        with pytest.raises(ConfigFileError):
            Settings(_env_file=None)  # type: ignore[call-arg]


def test_shard_ids_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    """SHARD_IDS=0,2 reads as a list of ints."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("SHARD_IDS", "0,2")
    monkeypatch.setenv("SHARD_COUNT", "4")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.shard_ids == [0, 2] and s.shard_count == 4


@pytest.mark.parametrize("url,masked", [
    ("postgresql://u:p@h/db", "postgresql://u:********@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_mask_url_password(url: str, masked: str) -> None:
    """Database passwords are masked, other URLs unchanged."""
    assert mask_url_password(url) == masked
