"""The stateless HTTP interactions endpoint: POST /interactions (signed by Discord), GET /healthz.

Same registry, same Cards, same renderer as the gateway bot; the answer is the HTTP response
(type 4 new message, 7 update, 8 autocomplete) or, when the work passes the ~2.5 s budget, a
deferral (type 5 / 6) followed up through the webhook at DISCORD_API_URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import aiohttp
from aiohttp import web

from bot.card import Card, error_card
from bot.commands import build_registry
from bot.config import Settings
from bot.deadlines import finished_within
from bot.errors_kb import MAX_LOG_BYTES
from bot.observability import add_ops_routes, bind_interaction_id
from bot.replay import ReplayMemory, shared_store_for_replays
from bot.render.discord import CHART_FILENAME, render_discord
from bot.store.base import Store

from . import server_config
from .answer import (BUDGET_S, STALE_BUTTON, cooldown_card, failure_card,
                     permission_card, produce, user_cooldown)
from .autocomplete import suggestions
from .message_tools import (EXPLAIN_TERMS, TROUBLESHOOT_THIS, AttachmentRef, explain_terms_card,
                            troubleshoot_message_card)
from .signature import SignatureCheck
from .translate import (request_for, request_from_choice, request_from_custom_id, server_settings,
                        with_server_defaults)
from .webhook import send as send_to_webhook

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
EPHEMERAL = 64
MANAGE_GUILD, ADMINISTRATOR = 1 << 5, 1 << 3
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4            # interaction types
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE = 1, 4, 5, 6     # response types
UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 7, 8
STRING_SELECT = 3                                                                  # component type
Mode = Literal["new", "update", "reply"]
ENDPOINT: web.AppKey[InteractionsEndpoint] = web.AppKey("endpoint")
MakeCard = Callable[[], Awaitable[Card]]


def _user_id(payload: dict[str, Any]) -> str:
    user = (payload.get("member") or {}).get("user") or payload.get("user") or {}
    return str(user.get("id", ""))


def _can_manage_server(payload: dict[str, Any]) -> bool:
    """Manage Server (or Administrator) in the member's permissions, as Discord computed them."""
    permissions = int((payload.get("member") or {}).get("permissions") or 0)
    return payload.get("guild_id") is not None and bool(permissions & (MANAGE_GUILD | ADMINISTRATOR))


def _describe(payload: dict[str, Any]) -> str:
    """Who did what where, for the log."""
    data = payload.get("data") or {}
    return (f"type={payload.get('type')} command={data.get('name') or data.get('custom_id')!r} "
            f"user={_user_id(payload)} guild={payload.get('guild_id')} channel={payload.get('channel_id')}")


def _const(card: Card) -> MakeCard:
    async def make() -> Card:
        return card

    return make


class InteractionsEndpoint:
    def __init__(self, settings: Settings, store: Store | None) -> None:
        if not settings.discord_public_key:
            raise ValueError("DISCORD_PUBLIC_KEY is not set")
        self.signatures = SignatureCheck(settings.discord_public_key, replays=ReplayMemory(
            "discord", store=shared_store_for_replays(settings, store)))
        self.api_url = settings.discord_api_url.rstrip("/")
        self.application_id = settings.discord_application_id
        self.store = store
        self.cooldown = user_cooldown(settings.cooldown_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._follow_ups: set[asyncio.Task[None]] = set()

    # -- HTTP ---------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def interactions(self, request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"error": "body too large"}, status=413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "body too large"}, status=413)
        problem = await self.signatures.problem(request.headers.get("X-Signature-Ed25519"),
                                                request.headers.get("X-Signature-Timestamp"), body)
        if problem is not None:
            log.info("refused an interaction request from %s: %s", request.remote, problem)
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            payload = json.loads(body)
            kind = payload["type"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "not an interaction"}, status=400)
        bind_interaction_id(payload.get("id"))
        try:
            if kind == PING:
                return web.json_response({"type": PONG})
            if kind == AUTOCOMPLETE:
                choices = self.autocomplete(payload)
                return web.json_response({"type": AUTOCOMPLETE_RESULT, "data": {"choices": choices}})
            if kind == APPLICATION_COMMAND:
                return await self.command(payload)
            if kind == MESSAGE_COMPONENT:
                return await self.component(payload)
        except Exception:  # noqa: BLE001 - Discord gets an answer, the log gets the traceback
            log.exception("interaction failed (%s)", _describe(payload))
            return self._message(CHANNEL_MESSAGE, render_discord(failure_card()))
        return web.json_response({"error": f"unsupported interaction type {kind}"}, status=400)

    # -- interaction kinds --------------------------------------------------------------------

    def autocomplete(self, payload: dict[str, Any]) -> list[dict[str, str]]:
        data = payload.get("data") or {}
        options = data.get("options") or []
        sub = options[0] if options and options[0].get("type") in (1, 2) else None
        if sub is not None:
            options = sub.get("options") or []
        focused = next((o for o in options if o.get("focused")), None)
        if focused is None:
            return []
        kind = None
        if data.get("name") == "config":
            if sub and sub.get("name") == "runtime" and focused.get("name") == "runtime":
                kind = "runtime"
        elif (command := build_registry().get(str(data.get("name", "")))) is not None:
            option = command.option(str(focused.get("name")))
            kind = option.autocomplete if option else None
        if kind is None:
            return []
        return [{"name": n, "value": v} for n, v in suggestions(kind, str(focused.get("value") or ""))]

    async def command(self, payload: dict[str, Any]) -> web.StreamResponse:
        data = payload.get("data") or {}
        name = str(data.get("name", ""))
        guild_id = payload.get("guild_id")
        settings = await server_settings(self.store, guild_id)
        ephemeral = bool(settings and settings.ephemeral)
        if data.get("type", 1) == 3:   # a message context menu
            return await self._answer(payload, self._context_menu(name, data), "new", ephemeral)
        if name == "config":
            return await self._answer(payload, self._config(payload), "new", True)
        command = build_registry().get(name)
        if command is None:
            return await self._answer(payload, _const(error_card("Unknown command", (
                f"I have no /{name} any more; ask an admin to run `runlocalai discord sync`."))), "new", True)
        values = {o["name"]: o.get("value") for o in data.get("options") or [] if "name" in o}
        request = request_for(command, values, user_id=_user_id(payload), server_id=guild_id)
        request = with_server_defaults(request, settings)
        blocked = (permission_card(request, can_manage_server=_can_manage_server(payload))
                   or cooldown_card(self.cooldown, request))
        if blocked is not None:
            return await self._answer(payload, _const(blocked), "new", True)
        return await self._answer(payload, lambda: produce(self.store, request), "new", ephemeral)

    async def component(self, payload: dict[str, Any]) -> web.StreamResponse:
        """A follow-up button, or a choice in a follow-up select menu (``data.values``)."""
        data = payload.get("data") or {}
        custom_id, user_id, guild_id = str(data.get("custom_id", "")), _user_id(payload), payload.get("guild_id")
        if data.get("component_type") == STRING_SELECT:
            values = data.get("values")
            chosen = [str(v) for v in values] if isinstance(values, list) else []
            request = request_from_choice(custom_id, chosen, user_id=user_id, server_id=guild_id)
        else:
            request = request_from_custom_id(custom_id, user_id=user_id, server_id=guild_id)
        if request is None:
            stale = render_discord(error_card("That didn't work", STALE_BUTTON))
            return self._message(CHANNEL_MESSAGE, {**stale, "flags": EPHEMERAL})
        settings = await server_settings(self.store, request.server_id)
        request = with_server_defaults(request, settings)
        blocked = (permission_card(request, can_manage_server=_can_manage_server(payload))
                   or cooldown_card(self.cooldown, request))
        if blocked is not None:
            return await self._answer(payload, _const(blocked), "reply", True)
        return await self._answer(payload, lambda: produce(self.store, request), _follow_up_mode(payload),
                                  bool(settings and settings.ephemeral))

    def _context_menu(self, name: str, data: dict[str, Any]) -> MakeCard:
        message = ((data.get("resolved") or {}).get("messages") or {}).get(str(data.get("target_id")), {})
        content = str(message.get("content") or "")
        if name == TROUBLESHOOT_THIS:
            attachments = [AttachmentRef(str(a.get("filename", "")), int(a.get("size", 0)), self._reader(a))
                           for a in message.get("attachments") or []]
            return lambda: troubleshoot_message_card(content, attachments)
        if name == EXPLAIN_TERMS:
            return _const(explain_terms_card(content))
        return _const(error_card("Unknown command", f"I have no '{name}' any more."))

    def _reader(self, attachment: dict[str, Any]) -> Callable[[], Awaitable[bytes]]:
        async def read() -> bytes:
            assert self._session is not None
            data = bytearray()
            async with self._session.get(str(attachment.get("url"))) as resp:
                resp.raise_for_status()
                async for chunk in resp.content.iter_chunked(65_536):
                    data += chunk
                    if len(data) > MAX_LOG_BYTES:   # one past the limit is enough to say "too big"
                        break
            return bytes(data)

        return read

    def _config(self, payload: dict[str, Any]) -> MakeCard:
        guild_id = payload.get("guild_id")
        if guild_id is None or self.store is None:
            return _const(server_config.servers_only())
        if not _can_manage_server(payload):
            return _const(server_config.not_allowed())
        store, gid = self.store, str(guild_id)
        data = payload.get("data") or {}
        sub = (data.get("options") or [{}])[0]
        values = {o["name"]: o.get("value") for o in sub.get("options") or []}
        channels = (data.get("resolved") or {}).get("channels") or {}

        def name_of(channel_id: str) -> str | None:
            return (channels.get(channel_id) or {}).get("name")

        async def make() -> Card:
            match sub.get("name"):
                case "autohelp":
                    return await server_config.set_autohelp(store, gid, str(values.get("channel")),
                                                            bool(values.get("enabled")), name_of)
                case "ephemeral":
                    return await server_config.set_ephemeral(store, gid, bool(values.get("enabled")))
                case "runtime":
                    return await server_config.set_runtime(store, gid, str(values.get("runtime") or ""))
                case "show":
                    return server_config.show(await store.get_settings("discord", gid), name_of)
            return error_card("Unknown setting", f"/config has no {sub.get('name')!r}.")

        return make

    # -- answering ----------------------------------------------------------------------------

    async def _answer(self, payload: dict[str, Any], make: MakeCard, mode: Mode,
                      ephemeral: bool) -> web.StreamResponse:
        """Answer in the HTTP response when the card is ready within the budget; else defer and
        follow up through the webhook."""
        ephemeral = ephemeral or mode == "reply"
        task = asyncio.ensure_future(make())
        if await finished_within(task, BUDGET_S):
            card = self._card_of(task, payload)
            kind, body = _shape(render_discord(card), card, mode, ephemeral)
            return self._message(kind, body, card.chart_png)
        follow_up = asyncio.create_task(self._follow_up(payload, task, mode, ephemeral))
        self._follow_ups.add(follow_up)
        follow_up.add_done_callback(self._follow_ups.discard)
        if mode == "update":
            return web.json_response({"type": DEFERRED_UPDATE})
        return web.json_response({"type": DEFERRED_CHANNEL_MESSAGE,
                                  "data": {"flags": EPHEMERAL} if ephemeral else {}})

    @staticmethod
    def _card_of(task: asyncio.Future[Card], payload: dict[str, Any]) -> Card:
        try:
            return task.result()
        except Exception:  # noqa: BLE001
            log.exception("interaction failed (%s)", _describe(payload))
            return failure_card()

    def _message(self, kind: int, body: dict[str, Any], chart_png: bytes | None = None) -> web.StreamResponse:
        if not chart_png:
            return web.json_response({"type": kind, "data": body})
        return web.Response(body=_multipart({"type": kind, "data": _with_chart(body)}, chart_png))

    async def _follow_up(self, payload: dict[str, Any], task: asyncio.Future[Card], mode: Mode,
                         ephemeral: bool) -> None:
        try:
            await asyncio.wait({task})
            card = self._card_of(task, payload)
            body = render_discord(card)
            app_id = self.application_id or payload.get("application_id")
            webhook = f"{self.api_url}/webhooks/{app_id}/{payload['token']}"
            original = f"{webhook}/messages/@original"
            who = _describe(payload)
            if mode == "update" and not card.ephemeral:
                await self._send("PATCH", original, _without_flags(body), card.chart_png, who)
            elif mode == "update":
                await self._send("POST", webhook, {**body, "flags": EPHEMERAL}, card.chart_png, who)
            elif card.ephemeral and not ephemeral:
                # The public "thinking…" message would show an error to everyone: replace it privately.
                await self._send("DELETE", original, None, None, who)
                await self._send("POST", webhook, {**body, "flags": EPHEMERAL}, card.chart_png, who)
            else:
                await self._send("PATCH", original, _without_flags(body), card.chart_png, who)
        except Exception:  # noqa: BLE001 - nobody awaits this task: log it with its context
            log.exception("follow-up failed (%s)", _describe(payload))

    async def _send(self, method: str, url: str, body: dict[str, Any] | None,
                    chart_png: bytes | None, context: str) -> None:
        """One webhook call, retried on rate limits and server errors (adapters/discord/webhook.py);
        failures are logged there, with ``context`` and without the token."""
        assert self._session is not None

        def request_body() -> dict[str, Any]:   # a multipart body is single-use: one per attempt
            if body is None:
                return {}
            return {"data": _multipart(_with_chart(body), chart_png)} if chart_png else {"json": body}

        await send_to_webhook(self._session, method, url, request_body, context=context)

    async def session_context(self, app: web.Application) -> AsyncIterator[None]:
        self._session = aiohttp.ClientSession(headers={"User-Agent": "runlocalai-bot (discord-http)"},
                                              timeout=aiohttp.ClientTimeout(total=30))
        yield
        if self._follow_ups:
            await asyncio.wait(self._follow_ups, timeout=10)
        await self._session.close()


def _follow_up_mode(payload: dict[str, Any]) -> Mode:
    """Edit the pressed message when it is private or the presser asked for it; else reply privately."""
    message = payload.get("message") or {}
    if int(message.get("flags") or 0) & EPHEMERAL:
        return "update"
    meta = message.get("interaction_metadata") or message.get("interaction") or {}
    asker = str((meta.get("user") or {}).get("id", ""))
    return "update" if asker and asker == _user_id(payload) else "reply"


def _shape(body: dict[str, Any], card: Card, mode: Mode, ephemeral: bool) -> tuple[int, dict[str, Any]]:
    """The response type and data for a card ready in time."""
    if mode == "update" and not card.ephemeral:
        return UPDATE_MESSAGE, _without_flags(body)
    if mode == "update" or ephemeral or card.ephemeral:
        return CHANNEL_MESSAGE, {**body, "flags": EPHEMERAL}
    return CHANNEL_MESSAGE, body


def _without_flags(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "flags"}


def _with_chart(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "attachments": [{"id": 0, "filename": CHART_FILENAME}]}


def _multipart(payload_json: dict[str, Any], chart_png: bytes | None) -> aiohttp.MultipartWriter:
    """payload_json + files[0], the way Discord takes a message with an attachment."""
    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append_json(payload_json)
    part.set_content_disposition("form-data", name="payload_json")
    if chart_png:
        image = writer.append(chart_png, {"Content-Type": "image/png"})
        image.set_content_disposition("form-data", name="files[0]", filename=CHART_FILENAME)
    return writer


def build_http_app(settings: Settings, store: Store | None) -> web.Application:
    """The aiohttp application ``runlocalai serve --discord-http`` runs."""
    endpoint = InteractionsEndpoint(settings, store)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.cleanup_ctx.append(endpoint.session_context)
    app.router.add_post("/interactions", endpoint.interactions)
    app.router.add_get("/healthz", endpoint.healthz)
    app[ENDPOINT] = endpoint
    add_ops_routes(app, store)   # /readyz, /metrics, request timing
    return app
