"""``runlocalai serve``: start the platform front-ends the configuration enables.

Gateway modes (Discord gateway, Slack Socket Mode) start when their tokens are set; the HTTP
modes start on request (--discord-http, --slack-http). All share one store and one registry.

Operations: the HTTP modes serve /healthz, /readyz and /metrics on their own port; the gateway
modes get a small ops server on ``ops_port`` (RUNLOCALAI_OPS_PORT, 0 = off). SIGTERM (or SIGINT)
shuts down gracefully: /readyz turns 503, the listeners stop accepting, in-flight requests get
``shutdown_timeout_s`` to finish, the gateway connections close, then the store.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

from .config import CONFIG_ENV, ConfigFileError, Settings, get_settings

log = logging.getLogger(__name__)

GATEWAYS = ("discord-gateway", "slack-socket")


def plan_services(settings: Settings, discord_http: bool, slack_http: bool) -> tuple[list[str], list[str]]:
    """(services that will start, problems that stop one from starting)."""
    services, problems = [], []
    if discord_http:
        if settings.discord_public_key and settings.discord_application_id:
            services.append("discord-http")
        else:
            problems.append("--discord-http needs DISCORD_PUBLIC_KEY and DISCORD_APPLICATION_ID")
    elif settings.discord_token:
        services.append("discord-gateway")
    if slack_http:
        if settings.slack_signing_secret and settings.slack_bot_token:
            services.append("slack-http")
        else:
            problems.append("--slack-http needs SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN")
    elif settings.slack_app_token and settings.slack_bot_token:
        services.append("slack-socket")
    return services, problems


async def serve(settings: Settings, services: list[str], host: str, port: int,
                stop: asyncio.Event | None = None) -> None:
    """Run ``services`` until ``stop`` is set (SIGTERM/SIGINT set it when run from ``main``) or a
    gateway task ends; then shut down gracefully."""
    from aiohttp import web

    from .maintenance import run_maintenance
    from .observability import instrument_registry, ops_app, start_draining
    from .store import set_store

    stop = stop or asyncio.Event()
    store = await open_serving_store(settings)
    set_store(store)  # handlers reach it through bot.store.get_store()
    instrument_registry()
    tasks: list[asyncio.Task[None]] = []
    housekeeping: asyncio.Task[None] | None = None
    runners: list[web.AppRunner] = []
    try:
        if "discord-gateway" in services:
            from adapters.discord import run_gateway

            tasks.append(asyncio.create_task(run_gateway(settings, store), name="discord-gateway"))
        if "slack-socket" in services:
            from adapters.slack import run_socket_mode

            tasks.append(asyncio.create_task(run_socket_mode(settings, store), name="slack-socket"))
        http_port = port
        for name in ("discord-http", "slack-http"):
            if name not in services:
                continue
            if name == "discord-http":
                from adapters.discord import build_http_app
            else:
                from adapters.slack import build_http_app  # type: ignore[no-redef]
            runners.append(await _start(web, build_http_app(settings, store), host, http_port, settings))
            log.info("%s listening on http://%s:%d", name, host, http_port)
            http_port += 1
        if settings.ops_port and any(s in GATEWAYS for s in services):
            runners.append(await _start(web, ops_app(store), settings.ops_host, settings.ops_port, settings))
            log.info("ops server (/healthz /readyz /metrics) on http://%s:%d", settings.ops_host, settings.ops_port)
        housekeeping = asyncio.create_task(run_maintenance(store), name="housekeeping")
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({waiter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {waiter}:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s stopped", task.get_name(), exc_info=task.exception())
        waiter.cancel()
        log.info("shutting down")
    finally:
        start_draining()
        # Stop accepting and let in-flight HTTP requests finish (up to shutdown_timeout_s each app).
        for r in runners:
            try:
                await r.cleanup()
            except Exception:
                log.exception("error while stopping an HTTP listener")
        for t in tasks:
            t.cancel()
        if housekeeping is not None:
            housekeeping.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=settings.shutdown_timeout_s)
        set_store(None)
        await store.close()   # writes the buffered usage counts, then closes the database
        log.info("stopped")


async def open_serving_store(settings: Settings) -> Any:
    """The store as the front-ends use it: the database, timed for /metrics, behind the hot-path
    cache of server settings and batched usage counters (bot/store/buffered.py)."""
    from .observability import instrument_store
    from .store.buffered import BufferedStore
    from .store.factory import open_store

    # SQLite has one writer, this process: its cached settings never go stale. PostgreSQL may be
    # shared by replicas: a change made elsewhere shows within settings_cache_s.
    ttl = None if settings.sqlite_path is not None else settings.settings_cache_s
    return BufferedStore(instrument_store(await open_store(settings.database_url)),
                         settings_ttl_s=ttl, flush_every_s=settings.usage_flush_s)


async def _start(web, app, host: str, port: int, settings: Settings):
    runner = web.AppRunner(app, shutdown_timeout=settings.shutdown_timeout_s, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def _serve_until_signalled(settings: Settings, services: list[str], host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):   # not on this platform / not the main thread
            pass
    await serve(settings, services, host, port, stop)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="runlocalai serve")
    p.add_argument("--discord-http", action="store_true", help="serve Discord interactions over HTTP")
    p.add_argument("--slack-http", action="store_true", help="serve Slack events over HTTP")
    p.add_argument("--host", default=None, help="listen address of the HTTP modes (default: settings host)")
    p.add_argument("--port", type=int, default=None, help="port of the first HTTP mode (default: settings port)")
    p.add_argument("--config", help=f"YAML file of non-secret settings (or {CONFIG_ENV}=path)")
    args = p.parse_args(argv)
    if args.config:
        os.environ[CONFIG_ENV] = args.config
        get_settings.cache_clear()
    try:
        settings = get_settings()
    except (ConfigFileError, ValueError) as exc:
        print(f"runlocalai serve: bad configuration: {exc}", file=sys.stderr)
        return 2
    services, problems = plan_services(settings, args.discord_http, args.slack_http)
    for problem in problems:
        print(f"runlocalai serve: {problem}", file=sys.stderr)
    if problems:
        return 2
    if not services:
        print("runlocalai serve: nothing to start. Set DISCORD_TOKEN (Discord gateway), SLACK_APP_TOKEN + "
              "SLACK_BOT_TOKEN (Slack Socket Mode), or use --discord-http / --slack-http. "
              "Without tokens, `runlocalai` opens the local console.", file=sys.stderr)
        return 2
    from .observability import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    try:
        asyncio.run(_serve_until_signalled(settings, services, host, port))
    except KeyboardInterrupt:
        pass
    return 0
