"""deploy/slack-manifest.yaml: generated from the registry, complete, and within Slack's limits."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from adapters.slack.manifest import (
    BOT_EVENTS,
    BOT_SCOPES,
    LIMITS,
    MANIFEST_PATH,
    build_manifest,
    render_manifest,
)
from adapters.slack.shortcuts import TROUBLESHOOT_CALLBACK_ID
from adapters.slack.workspace_config import CONFIG_COMMAND
from bot.commands import build_registry


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))


def test_manifest_file_is_up_to_date(manifest: dict[str, Any]) -> None:
    """The checked-in file is what the generator writes (run python -m adapters.slack.manifest)."""
    assert MANIFEST_PATH.read_text(encoding="utf-8") == render_manifest()
    assert manifest == build_manifest()


def test_manifest_lists_exactly_the_registry_commands(manifest: dict[str, Any]) -> None:
    """One Slack command per registry command, plus the Slack-only admin command; no more."""
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert len(commands) == len(set(commands))
    assert set(commands) == {f"/{n}" for n in build_registry().names()} | {f"/{CONFIG_COMMAND}"}


def test_slash_commands_within_limits(manifest: dict[str, Any]) -> None:
    """Names, descriptions and usage hints fit Slack's manifest limits; every command has a hint."""
    commands = manifest["features"]["slash_commands"]
    assert len(commands) <= LIMITS["slash_commands"]
    for c in commands:
        assert re.fullmatch(r"/[a-z0-9_-]{1,31}", c["command"]), c["command"]
        assert 0 < len(c["description"]) <= LIMITS["command_description"]
        assert 0 < len(c["usage_hint"]) <= LIMITS["usage_hint"]
        assert c["should_escape"] is False


def test_display_information_within_limits(manifest: dict[str, Any]) -> None:
    """App name, descriptions, colour and bot display name are valid."""
    info = manifest["display_information"]
    assert 0 < len(info["name"]) <= LIMITS["name"]
    assert 0 < len(info["description"]) <= LIMITS["description"]
    assert LIMITS["long_description_min"] <= len(info["long_description"]) <= LIMITS["long_description"]
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])
    assert re.fullmatch(r"[a-z0-9._-]{1,80}", manifest["features"]["bot_user"]["display_name"])


def test_shortcut_scopes_events_and_settings(manifest: dict[str, Any]) -> None:
    """The message shortcut, the minimal bot scopes, the events, interactivity, Socket Mode, Home tab."""
    (shortcut,) = manifest["features"]["shortcuts"]
    assert shortcut["type"] == "message" and shortcut["callback_id"] == TROUBLESHOOT_CALLBACK_ID
    assert len(shortcut["description"]) <= LIMITS["shortcut_description"]
    assert manifest["oauth_config"]["scopes"]["bot"] == BOT_SCOPES
    assert set(BOT_SCOPES) == {"commands", "chat:write", "channels:history", "groups:history", "users:read"}
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == set(BOT_EVENTS) == {
        "message.channels", "message.groups", "app_home_opened"}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
