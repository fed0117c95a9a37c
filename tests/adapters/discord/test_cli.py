"""`runlocalai discord sync` / `invite`: what Discord receives, and the least permissions asked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import discord
import pytest

from adapters.discord.cli import PERMISSIONS, main, sync_commands
from bot.cli import main as runlocalai
from bot.commands import build_registry

from .conftest import make_settings
from .fake_discord import APP_ID, FakeDiscord
from .payloads import GUILD_ID, OPTION_TYPES


async def test_sync_registers_every_registry_command_with_typed_options(fake_discord: FakeDiscord):
    """A global sync PUTs every registry command (options typed, ranged, with choices or
    autocomplete as declared), /config for Manage Server only, and both context menus."""
    previous = discord.http.Route.BASE
    try:
        names = await sync_commands(make_settings(fake_discord.api_url))
    finally:
        discord.http.Route.BASE = previous
    [put] = fake_discord.matching("PUT", rf"/applications/{APP_ID}/commands")
    sent = {(c["name"], c.get("type", 1)): c for c in put.json}
    for command in build_registry():
        schema = sent[(command.name, 1)]
        assert schema["description"] == command.description
        if command.requires == "manage_server":
            assert int(schema["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
        else:
            assert schema["default_member_permissions"] is None
        options = {o["name"]: o for o in schema.get("options", [])}
        assert set(options) == {o.name for o in command.options}
        for o in command.options:
            got = options[o.name]
            assert got["type"] == OPTION_TYPES[o.type] and got["required"] == o.required
            assert [c["value"] for c in got.get("choices", [])] == list(o.choices)
            assert got.get("autocomplete", False) == bool(o.autocomplete and not o.choices)
            if o.min_value is not None:
                assert got["min_value"] == o.min_value
            if o.max_value is not None:
                assert got["max_value"] == o.max_value
    config = sent[("config", 1)]
    assert int(config["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
    assert {o["name"] for o in config["options"]} == {"autohelp", "ephemeral", "runtime", "show"}
    assert {n for n, kind in sent if kind == 3} == {"Troubleshoot this", "Explain terms"}
    assert len(names) == len(put.json)


async def test_guild_sync(fake_discord: FakeDiscord):
    """--guild syncs to that server only."""
    previous = discord.http.Route.BASE
    try:
        await sync_commands(make_settings(fake_discord.api_url), int(GUILD_ID))
    finally:
        discord.http.Route.BASE = previous
    assert fake_discord.matching("PUT", rf"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    assert not fake_discord.matching("PUT", rf"/applications/{APP_ID}/commands")


def test_invite_url(monkeypatch, capsys):
    """`runlocalai discord invite`: scopes bot + applications.commands and exactly the five permissions."""
    monkeypatch.setenv("DISCORD_APPLICATION_ID", APP_ID)
    from bot.config import get_settings

    get_settings.cache_clear()
    try:
        assert runlocalai(["discord", "invite"]) == 0
    finally:
        get_settings.cache_clear()
    query = parse_qs(urlparse(capsys.readouterr().out.strip()).query)
    assert query["client_id"] == [APP_ID]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == PERMISSIONS
    # discord.py calls View Channel "read_messages".
    assert {name for name, on in granted if on} == {
        "read_messages", "send_messages", "send_messages_in_threads", "embed_links", "read_message_history"}


@pytest.mark.parametrize(("argv", "missing"),
                         [(["sync"], "DISCORD_TOKEN"), (["invite"], "DISCORD_APPLICATION_ID")])
def test_missing_settings_exit_2(monkeypatch, capsys, argv, missing):
    """Without the setting it needs, each subcommand says which and exits 2."""
    for name in ("DISCORD_TOKEN", "DISCORD_APPLICATION_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")          # no .env file to read
    from bot.config import get_settings

    get_settings.cache_clear()
    try:
        assert main(argv) == 2
    finally:
        get_settings.cache_clear()
    assert missing in capsys.readouterr().err
