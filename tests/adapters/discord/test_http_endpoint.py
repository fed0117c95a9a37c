"""The HTTP interactions endpoint over real HTTP on 127.0.0.1, signed with a key pair made here;
slow answers are followed up through the webhook on the fake Discord server."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from nacl.signing import SigningKey

from adapters.discord.context_menus import EXPLAIN_TERMS, TROUBLESHOOT_THIS
from bot.commands import build_registry
from bot.store.base import ServerSettings

from . import payloads as p
from .conftest import Signer, assert_discord_message
from .fake_discord import FakeDiscord

ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"


async def test_healthz(endpoint: Signer):
    """GET /healthz answers 200."""
    async with endpoint.session.get(f"{endpoint.base_url}/healthz") as r:
        assert r.status == 200


async def test_ping_pong(endpoint: Signer):
    """A signed PING is answered with PONG (type 1)."""
    r = await endpoint.post({"type": 1, "id": "1", "application_id": "1", "token": "t", "version": 1})
    assert r.status == 200 and r.json() == {"type": 1}


@pytest.mark.parametrize("name", build_registry().names())
async def test_every_registry_command(endpoint: Signer, fake_discord: FakeDiscord, name: str):
    """Every registry command, with every option set from its declaration, answers with a card
    (type 4 in time, or type 5 and a webhook follow-up), within limits and pinging no one."""
    command = build_registry().get(name)
    r = await endpoint.post(p.registry_slash(command, permissions=p.MANAGE_GUILD if command.requires else 0))
    assert r.status == 200
    if r.content_type.startswith("multipart/"):
        # A card with a chart answers as Discord takes files: payload_json + files[0].
        body, files = r.multipart()
        assert body["type"] == 4 and body["data"]["attachments"][0]["filename"] == "chart.png"
        assert files["chart.png"].startswith(b"\x89PNG")
        data = body["data"]
    else:
        body = r.json()
        assert body["type"] in (4, 5)
        data = body["data"] if body["type"] == 4 else (await fake_discord.wait_for("PATCH", ORIGINAL))[0].json
    assert_discord_message(data)


@pytest.fixture
def slow(monkeypatch) -> None:
    """Commands take longer than the (shortened) budget."""
    import adapters.discord.http_endpoint as endpoint_module

    real = endpoint_module.produce

    async def slow_produce(store, request):
        await asyncio.sleep(0.2)
        return await real(store, request)

    monkeypatch.setattr(endpoint_module, "BUDGET_S", 0.05)
    monkeypatch.setattr(endpoint_module, "produce", slow_produce)


async def test_slow_command_defers_and_follows_up(endpoint: Signer, fake_discord: FakeDiscord, slow):
    """Work past the budget: type 5 at once, then the card PATCHed to the original response at
    DISCORD_API_URL (with the chart as a multipart file)."""
    r = await endpoint.post(p.slash("compare", {"a": "rtx 3090", "b": "rtx 4090"}))
    assert r.json()["type"] == 5
    [edit] = await fake_discord.wait_for("PATCH", ORIGINAL)
    assert_discord_message(edit.json)
    assert edit.files["chart.png"].startswith(b"\x89PNG")


async def test_slow_error_after_public_defer_is_private(endpoint: Signer, fake_discord: FakeDiscord, slow):
    """An error card after a public deferral: the "thinking" message is deleted and the error
    sent as an ephemeral follow-up."""
    r = await endpoint.post(p.slash("define", {"term": "no such term xyz"}))
    assert r.json()["type"] == 5
    await fake_discord.wait_for("DELETE", ORIGINAL)
    [sent] = await fake_discord.wait_for("POST", r"/webhooks/\d+/[^/]+")
    assert sent.json["flags"] & 64


async def test_autocomplete(endpoint: Signer):
    """Autocomplete answers type 8 with at most 25 choices."""
    r = await endpoint.post(p.slash("define", {"term": "kv"}, focused="term"))
    body = r.json()
    assert body["type"] == 8
    assert 1 <= len(body["data"]["choices"]) <= 25
    assert any(c["value"] == "kv-cache" for c in body["data"]["choices"])


@pytest.mark.parametrize(("presser", "expected_type"), [(p.USER_ID, 7), (p.OTHER_USER_ID, 4)])
async def test_component(endpoint: Signer, presser: str, expected_type: int):
    """A follow-up button: the asker's message is updated (type 7), others get a private answer (type 4)."""
    shown = p.bot_message({"components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "More", "custom_id": "rl|define|term=kv-cache;more=yes"}]}]})
    r = await endpoint.post(p.button("rl|define|term=kv-cache;more=yes", user_id=presser, message=shown))
    body = r.json()
    assert body["type"] == expected_type
    assert_discord_message(body["data"])
    assert bool((body["data"].get("flags") or 0) & 64) == (expected_type == 4)


async def test_unknown_component_answers_ephemeral(endpoint: Signer):
    """A custom id that is not ours gets a short ephemeral explanation."""
    body = (await endpoint.post(p.button("someone-else|x", message=p.bot_message({})))).json()
    assert body["type"] == 4 and body["data"]["flags"] & 64


def select_choice(custom_id: str, values: object, **kw) -> dict:
    """A choice in the string select ``custom_id`` (component type 3, the chosen ``values``)."""
    return p.interaction(3, {"custom_id": custom_id, "component_type": 3, "values": values}, **kw)


RELATED = {"type": 3, "custom_id": "rm|define|term|", "placeholder": "Related terms",
           "options": [{"label": "Grouped-query attention (GQA)", "value": "gqa"}]}


@pytest.mark.parametrize(("presser", "expected_type"), [(p.USER_ID, 7), (p.OTHER_USER_ID, 4)])
async def test_select_choice(endpoint: Signer, presser: str, expected_type: int):
    """A choice in a follow-up select runs the command with the chosen value: the asker's message
    is updated (type 7), others get a private answer (type 4)."""
    shown = p.bot_message({"components": [{"type": 1, "components": [RELATED]}]})
    r = await endpoint.post(select_choice("rm|define|term|", ["gqa"], user_id=presser, message=shown))
    body = r.json()
    assert body["type"] == expected_type
    assert_discord_message(body["data"])
    assert "GQA" in body["data"]["embeds"][0]["title"]
    assert bool((body["data"].get("flags") or 0) & 64) == (expected_type == 4)


async def test_slow_select_choice_defers_the_update(endpoint: Signer, fake_discord: FakeDiscord, slow):
    """A choice past the budget: type 6 at once, then the message PATCHed with the new card."""
    shown = p.bot_message({"components": [{"type": 1, "components": [RELATED]}]})
    r = await endpoint.post(select_choice("rm|define|term|", ["gqa"], message=shown))
    assert r.json()["type"] == 6
    [edit] = await fake_discord.wait_for("PATCH", ORIGINAL)
    assert_discord_message(edit.json)
    assert "GQA" in edit.json["embeds"][0]["title"]


@pytest.mark.parametrize(("custom_id", "values"), [
    ("rm|define|term|", []), ("rm|define|term|", ["gqa", "mla"]), ("rm|define|term|", None),
    ("rm|define|term|", "gqa"), ("rm|define|", ["gqa"]), ("rl|define|term=gqa", ["gqa"]),
    ("rm|nosuchcommand|term|", ["gqa"]),
])
async def test_malformed_select_choice_answers_ephemeral(endpoint: Signer, custom_id: str, values: object):
    """No value, several values, values that are not a list, a malformed or foreign id, or an
    unknown command: a short ephemeral explanation, the message left alone."""
    shown = p.bot_message({"components": [{"type": 1, "components": [RELATED]}]})
    body = (await endpoint.post(select_choice(custom_id, values, message=shown))).json()
    assert body["type"] == 4 and body["data"]["flags"] & 64


async def test_context_menus(endpoint: Signer, fake_discord: FakeDiscord):
    """Both message context menus answer over HTTP, attachments fetched from their URL."""
    fake_discord.cdn["a.log"] = b"Failed to initialize NVML: Driver/library version mismatch\n"
    target = p.message("see log", attachments=[p.attachment("a.log", fake_discord.cdn_url("a.log"), 60)])
    body = (await endpoint.post(p.context_menu(TROUBLESHOOT_THIS, target))).json()
    assert body["type"] == 4 and "NVML" in body["data"]["embeds"][0]["title"]
    body = (await endpoint.post(p.context_menu(EXPLAIN_TERMS, p.message("what is a GGUF?")))).json()
    assert "GGUF" in [f["name"] for f in body["data"]["embeds"][0]["fields"]]


async def test_config(endpoint: Signer, store):
    """/config over HTTP needs Manage Server in the member's permissions, then saves to the store."""
    body = (await endpoint.post(p.config("ephemeral", {"enabled": True}, permissions=0))).json()
    assert "Manage Server" in body["data"]["embeds"][0]["description"]
    assert not (await store.get_settings("discord", p.GUILD_ID)).ephemeral
    body = (await endpoint.post(p.config("ephemeral", {"enabled": True}))).json()
    assert body["data"]["flags"] & 64
    assert (await store.get_settings("discord", p.GUILD_ID)).ephemeral
    body = (await endpoint.post(p.slash("about"))).json()
    assert body["data"]["flags"] & 64          # answers are now private in this guild


async def test_moderator_command_needs_manage_server(endpoint: Signer):
    """/bench-review (requires="manage_server") without Manage Server: an ephemeral refusal."""
    body = (await endpoint.post(p.slash("bench-review"))).json()
    assert body["data"]["flags"] & 64 and "Not allowed" in body["data"]["embeds"][0]["title"]


async def test_config_autocomplete_runtime(endpoint: Signer):
    """Autocomplete inside a subcommand (/config runtime) uses the runtime index."""
    payload = p.config("runtime", {"runtime": "oll"})
    payload["type"] = 4
    payload["data"]["options"][0]["options"][0]["focused"] = True
    body = (await endpoint.post(payload)).json()
    assert any(c["value"] == "ollama" for c in body["data"]["choices"])


async def test_guild_default_runtime(endpoint: Signer, store):
    """The guild's default runtime fills /willitrun's runtime."""
    await store.save_settings(ServerSettings("discord", p.GUILD_ID, default_runtime="ollama"))
    r = await endpoint.post(p.slash("willitrun", {"model": "llama 3.1 8b", "hardware": "rtx 4090",
                                                  "chart": "no"}))
    body = r.json()
    setup = next(f["value"] for f in body["data"]["embeds"][0]["fields"] if f["name"] == "Setup")
    assert "Ollama" in setup


# -- refused before any handler runs ------------------------------------------------------------

@pytest.fixture
def handler_calls(monkeypatch) -> list:
    """Every command run the endpoint starts (there must be none for a refused request)."""
    calls: list = []
    import adapters.discord.answer as answer

    real = answer.run

    async def spy(request):
        calls.append(request)
        return await real(request)

    monkeypatch.setattr(answer, "run", spy)
    return calls


def _signed_body() -> bytes:
    return json.dumps(p.slash("about")).encode()


@pytest.mark.parametrize("case", ["forged", "missing", "missing_timestamp", "stale", "future", "garbage",
                                  "tampered"])
async def test_bad_signatures_are_401(endpoint: Signer, handler_calls: list, store, case: str):
    """Forged, missing, stale and tampered signatures: 401, and no command runs."""
    body = _signed_body()
    headers = {
        "forged": lambda: endpoint.headers(body, key=SigningKey.generate()),
        "missing": lambda: {"Content-Type": "application/json"},
        "missing_timestamp": lambda: {k: v for k, v in endpoint.headers(body).items()
                                      if k != "X-Signature-Timestamp"},
        "stale": lambda: endpoint.headers(body, timestamp=time.time() - 301),
        "future": lambda: endpoint.headers(body, timestamp=time.time() + 301),
        "garbage": lambda: {**endpoint.headers(body), "X-Signature-Ed25519": "zz" * 64},
        "tampered": lambda: endpoint.headers(body.replace(b"about", b"help!")),
    }[case]()
    r = await endpoint.post(body, headers=headers)
    assert r.status == 401
    assert handler_calls == [] and not store.counts


async def test_replayed_signature_is_401(endpoint: Signer, handler_calls: list):
    """The same signed request twice: the first is answered, the replay refused with 401."""
    body = _signed_body()
    headers = endpoint.headers(body)
    assert (await endpoint.post(body, headers=headers)).status == 200
    assert (await endpoint.post(body, headers=headers)).status == 401
    assert len(handler_calls) == 1


async def test_oversized_body_is_413(endpoint: Signer, handler_calls: list):
    """A body over 1 MB is refused (413) without being verified or handled."""
    body = b"{" + b" " * 1_100_000 + b"}"
    r = await endpoint.post(body)
    assert r.status == 413 and handler_calls == []
