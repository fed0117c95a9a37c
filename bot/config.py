"""Typed configuration from the environment (and a .env file); secrets have no default.

``RUNLOCALAI_`` prefixes the bot's own settings; platform tokens keep the names their platforms
document (DISCORD_TOKEN, SLACK_BOT_TOKEN ...). Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_prefix="RUNLOCALAI_")

    # Storage: a SQLite file by default, PostgreSQL when DATABASE_URL is a postgres URL.
    database_url: str = Field(default="sqlite:///runlocalai.sqlite3",
                              validation_alias=AliasChoices("DATABASE_URL", "RUNLOCALAI_DATABASE_URL"))
    log_json: bool = False
    log_level: str = "INFO"

    # Discord
    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    discord_public_key: str | None = Field(default=None, validation_alias="DISCORD_PUBLIC_KEY")
    discord_application_id: str | None = Field(default=None, validation_alias="DISCORD_APPLICATION_ID")
    discord_api_url: str = Field(default="https://discord.com/api/v10", validation_alias="DISCORD_API_URL")

    # Slack
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    # Limits
    cooldown_seconds: float = 3.0
    max_concurrency: int = 64

    @property
    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
