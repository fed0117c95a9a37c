"""``runlocalai config check [--json] [--config FILE] [--discord-http] [--slack-http]``: the
effective configuration (secrets masked) and what ``runlocalai serve`` would start."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from .config import CONFIG_ENV, ConfigFileError, Settings, config_path
from .serve import GATEWAYS, plan_services

MASK = "********"


def mask_url_password(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:********@host/db"""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def effective(settings: Settings, discord_http: bool = False, slack_http: bool = False) -> dict[str, Any]:
    """Every setting (secrets as "********" when set, null when not) and the service plan."""
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = MASK if value.get_secret_value() else None
        values[name] = value
    values["database_url"] = mask_url_password(settings.database_url)
    services, problems = plan_services(settings, discord_http, slack_http)
    path = config_path()
    return {
        "config_file": str(path) if path else None,
        "settings": values,
        "services": ["console", *services],
        "ops_server": (f"http://{settings.ops_host}:{settings.ops_port}"
                       if settings.ops_port and any(s in GATEWAYS for s in services) else None),
        "problems": problems,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="runlocalai config")
    p.add_argument("action", choices=("check",))
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", help=f"YAML file of non-secret settings (or {CONFIG_ENV}=path)")
    p.add_argument("--discord-http", action="store_true", help="plan as `serve --discord-http` would")
    p.add_argument("--slack-http", action="store_true", help="plan as `serve --slack-http` would")
    args = p.parse_args(argv)
    if args.config:
        os.environ[CONFIG_ENV] = args.config
    try:
        settings = Settings()
    except (ConfigFileError, ValueError) as exc:
        print(f"runlocalai config: invalid configuration: {exc}", file=sys.stderr)
        return 2
    report = effective(settings, args.discord_http, args.slack_http)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"configuration file: {report['config_file'] or '(none; environment and .env only)'}")
        width = max(len(k) for k in report["settings"])
        for key, value in report["settings"].items():
            print(f"  {key:<{width}}  {value if value is not None else '-'}")
        print("will start: " + ", ".join(report["services"]))
        if report["ops_server"]:
            print(f"ops server: {report['ops_server']}")
        for problem in report["problems"]:
            print(f"problem: {problem}")
    return 1 if report["problems"] else 0
