"""Interactions built from raw payloads, run through discord.py's real CommandTree and view store
(``ConnectionState.parse_interaction_create``, the gateway's own entry point); the library's REST
calls go to the fake Discord server, and the tests check the JSON it received."""

from __future__ import annotations

import pytest

from adapters.discord.context_menus import EXPLAIN_TERMS, TROUBLESHOOT_THIS
from bot.dispatch import run
from bot.registry import Request
from bot.render.discord import render_discord
from bot.render.limits import DISCORD

from . import payloads as p
from .conftest import assert_discord_message, settle
from .fake_discord import FakeDiscord

CALLBACK = r"/interactions/\d+/[^/]+/callback"
ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"


async def dispatch(bot, payload):
    """Hand a raw INTERACTION_CREATE to discord.py exactly as the gateway does, and let it finish."""
    bot._connection.parse_interaction_create(payload)
    await settle()


async def test_slash_command_answers_with_a_card(gateway, fake_discord: FakeDiscord):
    """/define: one type-4 response, embed within limits, no mentions, follow-up buttons present."""
    await dispatch(gateway, p.slash("define", {"term": "kv cache"}))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 4
    body = call.json["data"]
    assert_discord_message(body)
    assert "KV cache" in body["embeds"][0]["title"]
    ids = [b["custom_id"] for row in body["components"] for b in row["components"] if "custom_id" in b]
    assert "rl|define|term=kv-cache;more=yes" in ids
    assert not body.get("flags")


async def test_expensive_command_defers_then_edits_with_chart(gateway, fake_discord: FakeDiscord):
    """/willitrun is expensive: a type-5 "thinking" response, then the card (and its chart) in the
    edit of the original response, sent as multipart like discord.py sends files."""
    await dispatch(gateway, p.slash("willitrun", {"model": "llama 3.1 8b", "hardware": "rtx 4090"}))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 5
    [edit] = await fake_discord.wait_for("PATCH", ORIGINAL)
    assert_discord_message(edit.json)
    assert edit.json["embeds"][0]["image"]["url"] == "attachment://chart.png"
    assert edit.files["chart.png"].startswith(b"\x89PNG")


async def test_autocomplete_returns_at_most_25_clamped_choices(gateway, fake_discord: FakeDiscord):
    """Autocomplete on /willitrun model: a type-8 response with ≤ 25 choices, names and values ≤ 100."""
    await dispatch(gateway, p.slash("willitrun", {"model": "llama", "hardware": ""}, focused="model"))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 8
    choices = call.json["data"]["choices"]
    assert 1 <= len(choices) <= DISCORD["choices"]
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    assert any("llama" in c["value"] for c in choices)


@pytest.mark.parametrize(("presser", "expected_type"), [(p.USER_ID, 7), (p.OTHER_USER_ID, 4)])
async def test_follow_up_button_edits_for_asker_replies_privately_to_others(
        gateway, fake_discord: FakeDiscord, presser: str, expected_type: int):
    """A press on "More" (a persistent rl| button, dispatched by custom id): the asker's message
    is updated in place (type 7); anyone else gets their own ephemeral answer (type 4, flags 64)."""
    await dispatch(gateway, p.slash("define", {"term": "kv cache"}))
    [first] = await fake_discord.wait_for("POST", CALLBACK)
    shown = p.bot_message(first.json["data"], asked_by=p.USER_ID)
    await dispatch(gateway, p.button("rl|define|term=kv-cache;more=yes", user_id=presser, message=shown))
    [_, second] = await fake_discord.wait_for("POST", CALLBACK, count=2)
    assert second.json["type"] == expected_type
    body = second.json["data"]
    assert_discord_message(body)
    assert "How it works" in [f["name"] for f in body["embeds"][0]["fields"]]
    assert bool((body.get("flags") or 0) & 64) == (expected_type == 4)


async def test_button_works_after_a_restart_and_defers_expensive_work(gateway, fake_discord: FakeDiscord):
    """A press on a /willitrun follow-up button on a message this process never sent (as after a
    restart): dispatched by its custom id, deferred (type 6, expensive), then the message edited
    with the new card, buttons and chart."""
    asked = Request("willitrun", {"model": "llama 3.1 8b", "hardware": "rtx 4090"}, platform="discord")
    card = await run(asked)
    shown = p.bot_message(render_discord(card), asked_by=p.USER_ID)
    custom_id = next(b["custom_id"] for row in shown["components"] for b in row["components"]
                     if b["custom_id"].startswith("rl|willitrun|"))
    await dispatch(gateway, p.button(custom_id, message=shown))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 6
    [edit] = await fake_discord.wait_for("PATCH", ORIGINAL)
    assert_discord_message(edit.json)
    assert edit.json["attachments"] == [{"id": 0, "filename": "chart.png"}] and "chart.png" in edit.files


async def test_troubleshoot_this_reads_logs_and_names_skipped_files(gateway, fake_discord: FakeDiscord):
    """"Troubleshoot this": the message text plus its .log attachment are matched; a binary, an
    oversized and a non-text attachment are each named with the reason they were not read."""
    log = b"start\nFailed to initialize NVML: Driver/library version mismatch\n"
    fake_discord.cdn["server.log"] = log
    fake_discord.cdn["dump.log"] = b"\x00\x01\x02binary"
    target = p.message("it crashes, log attached", attachments=[
        p.attachment("server.log", fake_discord.cdn_url("server.log"), len(log)),
        p.attachment("dump.log", fake_discord.cdn_url("dump.log"), 9),
        p.attachment("huge.log", fake_discord.cdn_url("huge.log"), 5_000_000),
        p.attachment("screen.png", fake_discord.cdn_url("screen.png"), 1000, "image/png"),
    ])
    await dispatch(gateway, p.context_menu(TROUBLESHOOT_THIS, target))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 4
    body = call.json["data"]
    assert_discord_message(body)
    embed = body["embeds"][0]
    assert "NVML" in embed["title"]
    notes = next(f["value"] for f in embed["fields"] if f["name"] == "Attachments")
    assert "dump.log" in notes and "binary" in notes
    assert "huge.log" in notes and "100 KB" in notes
    assert "screen.png" in notes


async def test_context_menu_explain_terms(gateway, fake_discord: FakeDiscord):
    """"Explain terms": the glossary terms the message uses, each defined, with "More" buttons."""
    target = p.message("Is the KV cache smaller with GQA? I use a Q4_K_M GGUF.")
    await dispatch(gateway, p.context_menu(EXPLAIN_TERMS, target))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    body = call.json["data"]
    assert_discord_message(body)
    names = [f["name"] for f in body["embeds"][0]["fields"]]
    assert "KV cache" in names and "GGUF" in names and any("GQA" in n for n in names)
    ids = [b["custom_id"] for row in body["components"] for b in row["components"]]
    assert any(i.startswith("rl|define|") for i in ids)


async def test_handler_exception_answers_ephemeral_and_logs(gateway, fake_discord: FakeDiscord, monkeypatch,
                                                             caplog):
    """A command that raises: the user gets a short ephemeral error, the log has the traceback and context."""
    def boom(*args, **kwargs):
        raise RuntimeError("glossary exploded")

    monkeypatch.setattr("bot.commands.define.render", boom)
    await dispatch(gateway, p.slash("define", {"term": "kv cache"}))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    assert "went wrong" in call.json["data"]["embeds"][0]["title"].lower()
    assert any("glossary exploded" in (r.exc_text or "") and p.USER_ID in r.getMessage()
               for r in caplog.records)


async def test_adapter_failure_still_answers(gateway, fake_discord: FakeDiscord, monkeypatch, caplog):
    """A failure in the adapter itself (not the command): logged with context, answered ephemeral."""
    async def broken(request):
        raise RuntimeError("store on fire")

    monkeypatch.setattr("adapters.discord.answer.run", broken)
    await dispatch(gateway, p.slash("about"))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    assert any("command='about'" in r.getMessage() for r in caplog.records)


async def test_stale_command_schema_answers_via_tree_on_error(gateway, fake_discord: FakeDiscord):
    """A payload missing a required option (an out-of-date command schema): discord.py raises
    before the callback; the tree's on_error still answers, ephemeral."""
    await dispatch(gateway, p.slash("willitrun", {"model": "llama 3.1 8b"}))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 4 and call.json["data"]["flags"] & 64
    assert "sync" in call.json["data"]["embeds"][0]["description"]


async def test_hostile_input_pings_no_one(gateway, fake_discord: FakeDiscord):
    """User text echoed back (an unknown term) cannot mention anyone."""
    await dispatch(gateway, p.slash("define", {"term": "@everyone <@123456789> <@&42> @here"}))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert_discord_message(call.json["data"])
    assert "<@123456789>" not in str(call.json)


async def test_cooldown_on_expensive_commands(gateway, fake_discord: FakeDiscord):
    """Two expensive commands in a row from one user: the second gets a friendly ephemeral wait."""
    from adapters.discord.answer import user_cooldown

    gateway.cooldown = user_cooldown(60)
    for _ in range(2):
        await dispatch(gateway, p.slash("compare", {"a": "rtx 3090", "b": "rtx 4090", "chart": "no"}))
    [first, second] = await fake_discord.wait_for("POST", CALLBACK, count=2)
    assert first.json["type"] == 5
    assert second.json["type"] == 4 and second.json["data"]["flags"] & 64
    assert "again in" in second.json["data"]["embeds"][0]["description"]


async def test_guild_settings_apply(gateway, fake_discord: FakeDiscord, store):
    """The guild's settings: answers become ephemeral, /willitrun gets the default runtime."""
    from bot.store.base import ServerSettings

    await store.save_settings(ServerSettings("discord", p.GUILD_ID, default_runtime="ollama", ephemeral=True))
    await dispatch(gateway, p.slash("willitrun", {"model": "llama 3.1 8b", "hardware": "rtx 4090",
                                                  "chart": "no"}))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 5 and call.json["data"]["flags"] & 64
    [edit] = await fake_discord.wait_for("PATCH", ORIGINAL)
    setup = next(f["value"] for f in edit.json["embeds"][0]["fields"] if f["name"] == "Setup")
    assert "Ollama" in setup


async def test_button_on_a_private_answer_edits_it(gateway, fake_discord: FakeDiscord, store):
    """With private answers on, a press on a button of one's own ephemeral answer edits it (type 7)."""
    from bot.store.base import ServerSettings

    await store.save_settings(ServerSettings("discord", p.GUILD_ID, ephemeral=True))
    body = render_discord(await run(Request("define", {"term": "kv cache"})))
    shown = p.bot_message(body, asked_by=p.USER_ID, flags=64)
    await dispatch(gateway, p.button("rl|define|term=kv-cache;more=yes", message=shown))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 7


async def test_config_autohelp_saves_channel(gateway, fake_discord: FakeDiscord, store):
    """/config autohelp by a member with Manage Server stores the channel; without it, refused."""
    forum = {"id": p.FORUM_ID, "type": 15, "name": "help-forum", "permissions": "0"}
    resolved = {"channels": {p.FORUM_ID: forum}}
    await dispatch(gateway, p.config("autohelp", {"channel": p.FORUM_ID, "enabled": True}, resolved=resolved,
                                     permissions=0, user_id=p.OTHER_USER_ID))
    assert not (await store.get_settings("discord", p.GUILD_ID)).autohelp_channels
    await dispatch(gateway, p.config("autohelp", {"channel": p.FORUM_ID, "enabled": True}, resolved=resolved))
    [refused, saved] = await fake_discord.wait_for("POST", CALLBACK, count=2)
    assert "Manage Server" in refused.json["data"]["embeds"][0]["description"]
    assert saved.json["data"]["flags"] & 64 and "help-forum" in saved.json["data"]["embeds"][0]["description"]
    assert (await store.get_settings("discord", p.GUILD_ID)).autohelp_channels == {p.FORUM_ID}


@pytest.mark.parametrize(("permissions", "allowed"), [(0, False), (p.MANAGE_GUILD, True)])
async def test_moderator_command_needs_manage_server(gateway, fake_discord: FakeDiscord, permissions,
                                                      allowed):
    """A registry command declaring requires="manage_server" (/bench-review) runs only for members
    with Manage Server; others get an ephemeral refusal."""
    await dispatch(gateway, p.slash("bench-review", permissions=permissions))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["data"]["flags"] & 64
    assert ("Not allowed" in call.json["data"]["embeds"][0]["title"]) != allowed


async def test_slash_command_in_dm(gateway, fake_discord: FakeDiscord):
    """Commands work in DMs (no guild, no guild settings)."""
    await dispatch(gateway, p.slash("help", guild=False))
    [call] = await fake_discord.wait_for("POST", CALLBACK)
    assert call.json["type"] == 4
    assert_discord_message(call.json["data"])


async def test_run_gateway_logs_in_at_the_api_url_and_never_syncs(fake_discord: FakeDiscord, store,
                                                                monkeypatch):
    """run_gateway: REST goes to DISCORD_API_URL (the login), every command is registered locally,
    and nothing is PUT to Discord's command endpoints. (The websocket connection itself is
    replaced here: the tests make no traffic beyond 127.0.0.1.)"""
    import discord

    from adapters.discord import run_gateway
    from adapters.discord.bot import RunLocalAIBot

    from .conftest import make_settings

    registered: list[str] = []

    async def connect_recorded(self, *, reconnect: bool = True) -> None:
        registered.extend(c.name for c in self.tree.get_commands())

    monkeypatch.setattr(RunLocalAIBot, "connect", connect_recorded)
    previous = discord.http.Route.BASE
    try:
        await run_gateway(make_settings(fake_discord.api_url), store)
    finally:
        discord.http.Route.BASE = previous
    assert fake_discord.matching("GET", r"/users/@me")
    assert {"willitrun", "config", "Troubleshoot this", "Explain terms"} <= set(registered)
    assert not [r for r in fake_discord.requests if r.method == "PUT"]
