"""``runlocalai serve``: start the platform front-ends the configuration enables.

Gateway modes (Discord gateway, Slack Socket Mode) start when their tokens are set; the HTTP
modes start on request (--discord-http, --slack-http). All share one store and one registry.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .config import Settings, get_settings

log = logging.getLogger(__name__)


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


async def serve(settings: Settings, services: list[str], host: str, port: int) -> None:
    from aiohttp import web

    from .store import set_store
    from .store.factory import open_store

    store = await open_store(settings.database_url)
    set_store(store)  # handlers reach it through bot.store.get_store()
    tasks = []
    runners = []
    try:
        if "discord-gateway" in services:
            from adapters.discord import run_gateway

            tasks.append(asyncio.create_task(run_gateway(settings, store)))
        if "slack-socket" in services:
            from adapters.slack import run_socket_mode

            tasks.append(asyncio.create_task(run_socket_mode(settings, store)))
        http_port = port
        for name in ("discord-http", "slack-http"):
            if name not in services:
                continue
            if name == "discord-http":
                from adapters.discord import build_http_app
            else:
                from adapters.slack import build_http_app  # type: ignore[no-redef]
            runner = web.AppRunner(build_http_app(settings, store))
            await runner.setup()
            await web.TCPSite(runner, host, http_port).start()
            log.info("%s listening on http://%s:%d", name, host, http_port)
            runners.append(runner)
            http_port += 1
        if tasks:
            await asyncio.gather(*tasks)
        else:
            await asyncio.Event().wait()
    finally:
        for r in runners:
            await r.cleanup()
        set_store(None)
        await store.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="runlocalai serve")
    p.add_argument("--discord-http", action="store_true", help="serve Discord interactions over HTTP")
    p.add_argument("--slack-http", action="store_true", help="serve Slack events over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args(argv)
    settings = get_settings()
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
    logging.basicConfig(level=settings.log_level)
    try:
        asyncio.run(serve(settings, services, args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0
