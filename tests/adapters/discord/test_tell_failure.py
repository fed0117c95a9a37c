"""tell_failure is the last word of a failed interaction: whatever sending it does, it never raises."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import discord
import pytest

from adapters.discord.respond import tell_failure


class _Response:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def is_done(self) -> bool:
        return False

    async def send_message(self, **_: object) -> None:
        raise self.error


def _interaction(error: BaseException) -> SimpleNamespace:
    return SimpleNamespace(response=_Response(error), data={"name": "define"}, command=None,
                           user=SimpleNamespace(id=7), guild_id=1, channel_id=2)


@pytest.mark.parametrize("error", [TimeoutError(), aiohttp.ClientConnectionError("reset"),
                                   discord.ClientException("already responded")])
async def test_a_failure_to_report_a_failure_is_logged_not_raised(error, caplog):
    await tell_failure(_interaction(error))  # type: ignore[arg-type]
    assert "could not even report a failure (command='define' user=7 guild=1 channel=2)" in caplog.text
