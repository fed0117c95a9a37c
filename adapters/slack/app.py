"""Building and running the bolt app: Socket Mode, or HTTP (POST /slack/events, GET /healthz).

``SLACK_API_URL`` (``Settings.slack_api_url``) is the Web API base URL of every call the app
makes (auth.test, chat.postMessage, users.info, views.publish, apps.connections.open), so tests
and staging can point the real client at a local server.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.observability import add_ops_routes
from bot.replay import ReplayMemory, shared_store_for_replays
from bot.store.base import Store

from .listeners import register_listeners
from .answers import Answers

log = logging.getLogger(__name__)

BOLT_APP = web.AppKey("slack_bolt_app", AsyncApp)


def build_web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client; a 429 is retried after its Retry-After and a dropped connection
    once more (both safe: Slack did not act on the call)."""
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
    )

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(token=token, base_url=settings.slack_api_url, retry_handlers=[
        AsyncConnectionErrorRetryHandler(max_retry_count=1), AsyncRateLimitErrorRetryHandler(max_retry_count=2)])


def build_app(settings: Settings, answers: Answers) -> AsyncApp:
    """The bolt app with every listener registered. Listeners run before the response (see
    adapters/slack/answers.py): the ack carries fast answers, and slower work continues in
    ``answers``' background tasks.

    bolt does not check signatures itself: in HTTP mode ``build_http_app``'s endpoint checks each
    request once, together with the replay check, before bolt sees it; Socket Mode has none."""
    if settings.slack_bot_token is None:
        raise ValueError("the Slack adapter needs SLACK_BOT_TOKEN")
    app = AsyncApp(client=build_web_client(settings), name="runlocalai", request_verification_enabled=False,
                   logger=logging.getLogger("adapters.slack.bolt"), process_before_response=True)
    register_listeners(app, answers)
    return app


async def warm_up() -> None:
    """Load the catalog before the first command (about two seconds), off the event loop."""
    from catalog.resolve import get_resolver

    await asyncio.to_thread(get_resolver)


def build_http_app(settings: Settings, store: Store) -> web.Application:
    """POST /slack/events (commands, interactivity and events) and GET /healthz. A request with a
    bad, missing or stale signature, or a replayed one, is answered 401 before bolt sees it."""
    if settings.slack_signing_secret is None or not settings.slack_signing_secret.get_secret_value().strip():
        raise ValueError("Slack HTTP mode needs SLACK_SIGNING_SECRET")
    answers = Answers(store, cooldown_seconds=settings.cooldown_seconds)
    bolt = build_app(settings, answers)

    signatures = SignatureCheck(settings.slack_signing_secret.get_secret_value(),
                                ReplayMemory("slack", store=shared_store_for_replays(settings, store)))

    async def slack_events(request: web.Request) -> web.Response:
        body = (await request.read()).decode("utf-8", errors="replace")   # a bad byte fails the HMAC
        problem = await signatures.problem(body, request.headers)
        if problem is not None:
            log.info("refused a Slack request from %s: %s", request.remote, problem)
            return web.json_response({"error": problem}, status=401)
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def on_startup(_: web.Application) -> None:
        await warm_up()

    web_app = web.Application()
    web_app[BOLT_APP] = bolt
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.on_startup.append(on_startup)

    async def on_cleanup(_: web.Application) -> None:
        await answers.close(settings.shutdown_timeout_s)   # answers still on their way go out first

    web_app.on_cleanup.append(on_cleanup)
    add_ops_routes(web_app, store)   # /readyz, /metrics, request timing
    return web_app


class SignatureCheck:
    """Slack's request signing (HMAC-SHA256 of ``v0:timestamp:body``, timestamp within five
    minutes), and no second delivery of a validly signed slash command or interaction.

    Slack never re-sends those (each carries a fresh trigger id), so a repeat within the
    signature window is a replay. Events are left to event-id dedupe: Slack retries them on
    purpose. The memory is this process's, and shared between replicas through the store on
    PostgreSQL (bot/replay.py). See https://api.slack.com/authentication/verifying-requests-from-slack
    """

    def __init__(self, signing_secret: str, replays: ReplayMemory | None = None) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self.replays = replays or ReplayMemory("slack")

    async def problem(self, body: str, headers) -> str | None:
        """None when the request is genuine, fresh and not a replay; else why it is refused."""
        ts, signature = headers.get("X-Slack-Request-Timestamp", ""), headers.get("X-Slack-Signature", "")
        # SignatureVerifier would raise on a timestamp that is not an integer: a 401, not a 500.
        if not _is_integer(ts) or not self._verifier.is_valid(body=body, timestamp=ts, signature=signature):
            return "invalid request"
        if ("application/x-www-form-urlencoded" in headers.get("Content-Type", "")
                and not await self.replays.is_new(signature)):
            return "replayed request"
        return None


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


async def run_socket_mode(settings: Settings, store: Store) -> None:
    """Connect over Socket Mode (SLACK_APP_TOKEN) and serve until cancelled."""
    if settings.slack_app_token is None:
        raise ValueError("Slack Socket Mode needs SLACK_APP_TOKEN")
    # Imported here: the Socket Mode client (about 60 ms) is of no use to the HTTP mode.
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    answers = Answers(store, cooldown_seconds=settings.cooldown_seconds)
    app = build_app(settings, answers)
    handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
    await warm_up()
    try:
        await handler.connect_async()
        log.info("Slack Socket Mode connected")
        await asyncio.Event().wait()
    finally:
        await handler.close_async()
        await answers.close(settings.shutdown_timeout_s)
