"""Typed configuration: the environment (and a .env file), plus an optional YAML file for the
non-secret settings; secrets have no default and come from the environment only.

``RUNLOCALAI_`` prefixes the bot's own settings; platform tokens keep the names their platforms
document (DISCORD_TOKEN, SLACK_BOT_TOKEN ...). Secrets are ``SecretStr`` and never printed.

Precedence, highest first: arguments, environment, .env, the YAML file
(``RUNLOCALAI_CONFIG=path`` or ``runlocalai serve --config path``), defaults. YAML keys are the
field names (``log_json: true``); a secret in the YAML file is an error, not silently used.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_ENV = "RUNLOCALAI_CONFIG"


class ConfigFileError(ValueError):
    """The YAML configuration file is unreadable, not a mapping, names an unknown key or a secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      env_prefix="RUNLOCALAI_", populate_by_name=True)

    # Storage: a SQLite file by default, PostgreSQL when DATABASE_URL is a postgres URL.
    database_url: str = Field(default="sqlite:///runlocalai.sqlite3",
                              validation_alias=AliasChoices("DATABASE_URL", "RUNLOCALAI_DATABASE_URL"))
    log_json: bool = False
    log_level: str = "INFO"

    # HTTP front-ends (--discord-http / --slack-http; Slack takes the next port when both run)
    host: str = "127.0.0.1"
    port: int = 8080
    # The ops server (/healthz, /readyz, /metrics) for the gateway modes; 0 turns it off.
    # The HTTP modes serve the same routes on their own port.
    ops_host: str = "127.0.0.1"
    ops_port: int = 9100
    # SIGTERM: stop accepting, give in-flight requests this long, then close the store.
    shutdown_timeout_s: float = 10.0

    # Discord
    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    discord_public_key: str | None = Field(default=None, validation_alias="DISCORD_PUBLIC_KEY")
    discord_application_id: str | None = Field(default=None, validation_alias="DISCORD_APPLICATION_ID")
    discord_api_url: str = Field(default="https://discord.com/api/v10", validation_alias="DISCORD_API_URL")
    # Gateway sharding for large installs (SHARD_COUNT=4, SHARD_IDS=0,1): with SHARD_COUNT set the
    # gateway runs discord.py's AutoShardedBot with these shards (all of them when SHARD_IDS is
    # unset); without it, one unsharded connection (see docs/DEPLOY.md, "Sharding").
    shard_count: int | None = Field(default=None, validation_alias=AliasChoices("SHARD_COUNT", "shard_count"))
    shard_ids: list[int] | None = Field(default=None, validation_alias=AliasChoices("SHARD_IDS", "shard_ids"))

    # Slack
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    # Limits
    cooldown_seconds: float = 3.0
    max_concurrency: int = 64

    # Hot path (bot/store/buffered.py): how long a server's settings are cached with PostgreSQL (a
    # change made on another replica shows within this; with SQLite this process is the only
    # writer and they stay cached), and how often usage counters are written in one batch.
    settings_cache_s: float = Field(default=5.0, ge=0)
    usage_flush_s: float = Field(default=5.0, gt=0)
    # HTTP modes on PostgreSQL: share the replay memory of signed requests between replicas
    # through the database (one INSERT per request; bot/replay.py). SQLite: always per process.
    replay_shared: bool = True
    # Servers whose moderators' approvals of community benchmarks count everywhere
    # ("discord:<guild id>", "slack:<team id>"); other approvals count only in their own server.
    trusted_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("trusted_servers", mode="before")
    @classmethod
    def _server_list(cls, value: Any) -> Any:
        """RUNLOCALAI_TRUSTED_SERVERS=discord:123,slack:T1 as well as a JSON / YAML list."""
        return _comma_list(value)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """SHARD_IDS=0,1,2 as well as the JSON list [0, 1, 2]; empty means unset."""
        value = _comma_list(value)   # pydantic turns the "0", "1" ... into ints
        if isinstance(value, int):
            return [value]
        return value or None

    @model_validator(mode="after")
    def _shards_consistent(self) -> Settings:
        """SHARD_COUNT at least 1; SHARD_IDS only with SHARD_COUNT, without duplicates, each in
        0 .. SHARD_COUNT-1 (so `runlocalai config check` reports it, not the gateway's start)."""
        if self.shard_count is not None and self.shard_count < 1:
            raise ValueError(f"SHARD_COUNT must be at least 1, not {self.shard_count}")
        ids = self.shard_ids or []
        if ids and self.shard_count is None:
            raise ValueError(f"SHARD_IDS={ids} needs SHARD_COUNT, the total number of shards across all processes")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"SHARD_IDS lists shard {', '.join(map(str, duplicates))} more than once: {ids}")
        top = self.shard_count - 1 if self.shard_count is not None else None
        wrong = [i for i in ids if i < 0 or (top is not None and i > top)]
        if wrong:
            allowed = f"0..{top} for SHARD_COUNT={self.shard_count}" if top is not None else "0 or more"
            raise ValueError(f"SHARD_IDS {wrong} out of range: shard ids are {allowed}")
        return self

    @property
    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [name for name, f in cls.model_fields.items() if _is_secret(f)]

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, YamlFileSource(settings_cls), file_secret_settings


def _comma_list(value: Any) -> Any:
    """An environment value written as ``a,b,c`` as a list of its parts; a JSON list (``[...]``)
    and anything not a string are left to pydantic."""
    if isinstance(value, str) and not value.strip().startswith("["):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _is_secret(field: FieldInfo) -> bool:
    return "SecretStr" in repr(field.annotation)


def config_path() -> Path | None:
    """The YAML file RUNLOCALAI_CONFIG names, if any."""
    value = os.environ.get(CONFIG_ENV, "").strip()
    return Path(value).expanduser() if value else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The YAML file's non-secret settings, keyed by field name; ConfigFileError on anything else."""
    import yaml  # only with a configuration file: start-up without one needs no YAML parser

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"cannot read the configuration file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: expected a mapping of setting: value")
    fields = Settings.model_fields
    secrets = set(Settings.secret_fields())
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).lower()
        if name not in fields:
            # also accept the environment name (DISCORD_API_URL, RUNLOCALAI_LOG_JSON)
            name = next((n for n, f in fields.items() if str(key).upper() in _env_names(n, f)), "")
        if not name:
            raise ConfigFileError(f"{path}: unknown setting {key!r}")
        if name in secrets:
            raise ConfigFileError(f"{path}: {key!r} is a secret; set it in the environment, not in a file")
        out[name] = value
    return out


def _env_names(name: str, field: FieldInfo) -> set[str]:
    alias = field.validation_alias
    if isinstance(alias, str):
        return {alias.upper()}
    if isinstance(alias, AliasChoices):
        return {str(a).upper() for a in alias.choices}
    return {f"RUNLOCALAI_{name}".upper()}


def env_names() -> dict[str, set[str]]:
    """Each setting's environment variable names (for the deploy files' consistency test)."""
    return {n: _env_names(n, f) for n, f in Settings.model_fields.items()}


class YamlFileSource(PydanticBaseSettingsSource):
    """The optional YAML file of non-secret settings (RUNLOCALAI_CONFIG)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False   # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        path = config_path()
        return read_config_file(path) if path is not None else {}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
