"""Opt-in auto-help: in channels an admin chose, a message with a known error gets one threaded
reply. Slack's retries, duplicate deliveries and later messages in the same thread never
produce a second one; bot messages are never answered.

Dedupe is in the store (``claim_once``), so it survives restarts and holds across replicas:
``slack:event:<event_id>`` for one delivery of one event (Slack retries with the same event_id
and an X-Slack-Retry-Num header), ``slack:thread:<team>:<channel>:<thread ts>`` for one reply
per thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.autohelp import autohelp_card
from bot.ratelimit import Cooldown
from bot.render.slack import render_slack

from .answers import Answers, team_of

log = logging.getLogger(__name__)

# Subtypes that still carry a person's own text; everything else (bot_message, edits,
# deletions, joins ...) is not a question.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
REPLIES_PER_CHANNEL_PER_MINUTE = 6


def is_human_message(event: dict[str, Any]) -> bool:
    return (event.get("subtype") in HUMAN_SUBTYPES and not event.get("bot_id")
            and bool(event.get("user")) and bool(event.get("text")))


def on_message(answers: Answers) -> Callable[..., Awaitable[None]]:
    store = answers.store
    per_channel = Cooldown(rate=REPLIES_PER_CHANNEL_PER_MINUTE, per=60.0)

    async def on_channel_message(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                                 request: AsyncBoltRequest) -> None:
        """Slack wants the event acknowledged quickly: the work runs after the ack."""
        if is_human_message(event):
            answers.later(reply(body, event, client, request), "auto-help")

    async def reply(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                    request: AsyncBoltRequest) -> None:
        team_id, channel = team_of(body) or str(event.get("team", "")), str(event.get("channel", ""))
        if channel not in (await answers.workspace(team_id)).autohelp_channels:
            return
        event_id = body.get("event_id") or f"{team_id}:{channel}:{event.get('ts')}"
        if not await store.claim_once(f"slack:event:{event_id}"):
            retry = request.headers.get("x-slack-retry-num", [None])[0]
            log.info("ignoring duplicate delivery of %s (retry %s)", event_id, retry)
            return
        text = str(event["text"])
        # A pure function over up to 100 KB of pasted log: a worker thread keeps the loop free.
        card = await asyncio.to_thread(autohelp_card, text)
        if card is None:
            return
        if per_channel.retry_after(f"{team_id}:{channel}") > 0:
            log.warning("auto-help is replying too often in %s:%s; skipping a reply", team_id, channel)
            return
        thread_ts = str(event.get("thread_ts") or event.get("ts"))
        if not await store.claim_once(f"slack:thread:{team_id}:{channel}:{thread_ts}"):
            return
        message = render_slack(card)
        try:
            await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message["text"],
                                          blocks=message["blocks"], unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.warning("auto-help reply in %s failed: %s", channel, exc.response.get("error"))

    return on_channel_message
