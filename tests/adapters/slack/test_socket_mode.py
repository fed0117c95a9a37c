"""Socket Mode end to end: run_socket_mode opens a connection through SLACK_API_URL
(apps.connections.open), receives an envelope over the websocket, acks it, and answers."""

from __future__ import annotations

import asyncio
import contextlib

from adapters.slack import run_socket_mode

from .conftest import make_settings
from .fake_slack import APP_TOKEN, TEAM_ID, FakeSlack
from ..memory_store import MemoryStore


async def test_slash_command_over_socket_mode(fake_slack: FakeSlack, store: MemoryStore) -> None:
    """An envelope is acked with its envelope_id and the answer goes to response_url."""
    settings = make_settings(fake_slack.api_url, SLACK_SIGNING_SECRET=None, SLACK_APP_TOKEN=APP_TOKEN)
    task = asyncio.create_task(run_socket_mode(settings, store))
    try:
        await asyncio.wait_for(fake_slack.socket_connected.wait(), timeout=10)
        assert fake_slack.calls("apps.connections.open")[0].token == APP_TOKEN
        await fake_slack.socket_outbox.put({
            "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"team_id": TEAM_ID, "channel_id": "C1", "user_id": "U1", "command": "/define",
                        "text": "gguf", "response_url": fake_slack.response_url(), "trigger_id": "1.2.3"},
        })
        await fake_slack.wait_for(
            lambda: any(m.get("envelope_id") == "env-1" for m in fake_slack.socket_received))
        await fake_slack.wait_for(lambda: fake_slack.answers)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
    assert fake_slack.answers[0]["response_type"] == "in_channel"
    assert "GGUF" in fake_slack.answers[0]["blocks"][0]["text"]["text"]
