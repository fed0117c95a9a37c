"""Discord API failures from the local fake: 429s (per route, global, past the retry limit, from
Cloudflare, longer than we wait), 5xx and slow answers. Two paths are tested.

- The gateway bot: raw interactions and messages go through discord.py's real CommandTree and
  listeners, and discord.py's own HTTP code talks to the fake. discord.py does the retrying; our
  code catches what it gives up with, logs it with context, and serves the next interaction.
- The HTTP endpoint's deferred follow-ups, sent by adapters/discord/webhook.py.

Every figure asserted here comes from the fake's recording: request count, status and arrival
time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord.http
import discord.webhook.async_
import pytest

from adapters.discord import webhook
from bot.observability import InteractionIdFilter
from bot.store.base import ServerSettings
from tests.adapters.discord import conftest as discord_fixtures
from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import Signer, settle
from tests.adapters.discord.fake_discord import FakeDiscord

gateway = discord_fixtures.gateway   # the logged-in gateway client fixture, used here too

CALLBACK = r"/interactions/\d+/[^/]+/callback"
ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"
FOLLOWUP = r"/webhooks/\d+/[^/]+"
CHANNEL_MESSAGES = r"/channels/\d+/messages"
ERROR_TEXT = "Help! ollama says: Failed to initialize NVML: Driver/library version mismatch"
RETRY_AFTER_S = 0.3
TOKEN_PREFIX = "tok-"   # every interaction token in payloads.py starts with it


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captured records carry ``interaction_id`` as the production log handler adds it."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(InteractionIdFilter())
    return caplog


class CompressedSleep:
    """``asyncio`` as discord.py's HTTP modules see it: sleeps are recorded and run 100× shorter,
    so discord.py's real 5xx backoff (1 + 2n s per try, 25 s over 5 tries) fits in a test."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self.delays.append(delay)
        return await asyncio.sleep(delay / 100, result)


@pytest.fixture
def compressed(monkeypatch) -> CompressedSleep:
    clock = CompressedSleep()
    monkeypatch.setattr(discord.webhook.async_, "asyncio", clock)
    monkeypatch.setattr(discord.http, "asyncio", clock)
    return clock


async def dispatch(bot, payload: dict[str, Any]) -> None:
    """Hand a raw INTERACTION_CREATE to discord.py as the gateway does, and let it finish."""
    bot._connection.parse_interaction_create(payload)
    await settle()


def statuses(fake: FakeDiscord, method: str, pattern: str) -> list[int | None]:
    return [r.status for r in fake.matching(method, pattern)]


def gap_s(fake: FakeDiscord, method: str, pattern: str) -> float:
    first, second = fake.matching(method, pattern)[:2]
    return second.at - first.at


def no_token_logged(caplog: pytest.LogCaptureFixture) -> bool:
    """No interaction token in any record but the fake server's own access log."""
    return not any(TOKEN_PREFIX in (r.getMessage() + (r.exc_text or "")) for r in caplog.records
                   if r.name != "aiohttp.access")


# -- the gateway bot: discord.py retries ------------------------------------------------------------

WILLITRUN = {"model": "llama 3.1 8b", "hardware": "rtx 4090", "chart": "no"}
UNKNOWN_MODEL = {"model": "zzqx no such model", "hardware": "rtx 4090"}


def check_define(fake: FakeDiscord) -> None:
    [answer] = fake.answered("POST", CALLBACK)
    assert answer.json["type"] == 4 and "KV cache" in answer.json["data"]["embeds"][0]["title"]


def check_edit(fake: FakeDiscord) -> None:
    [edit] = fake.answered("PATCH", ORIGINAL)
    assert any(f["name"] == "Setup" for f in edit.json["embeds"][0]["fields"])


def check_private_error(fake: FakeDiscord) -> None:
    [sent] = fake.answered("POST", FOLLOWUP)
    assert sent.json["flags"] & 64 and "Unknown model" in sent.json["embeds"][0]["title"]


# what fails -> (method, route, a fresh interaction that uses it, the check of the one answer sent)
ANSWER_ROUTES: dict[str, tuple[str, str, Callable[[], dict[str, Any]], Callable[[FakeDiscord], None]]] = {
    "interaction callback": ("POST", CALLBACK, lambda: p.slash("define", {"term": "kv cache"}), check_define),
    "message edit": ("PATCH", ORIGINAL, lambda: p.slash("willitrun", WILLITRUN), check_edit),
    "followup webhook": ("POST", FOLLOWUP, lambda: p.slash("willitrun", UNKNOWN_MODEL), check_private_error),
}


@pytest.mark.parametrize("is_global", [False, True], ids=["route", "global"])
@pytest.mark.parametrize("route", ANSWER_ROUTES)
async def test_429_on_an_answer_is_waited_out_and_sent_once(gateway, fake_discord: FakeDiscord, route: str,
                                                             is_global: bool):
    """One 429 (retry_after 0.3 s) on the callback, the edit of the deferred answer, or the
    private follow-up: discord.py waits at least retry_after, sends again, and the user gets
    exactly one answer with the right content."""
    method, pattern, interaction, check = ANSWER_ROUTES[route]
    fake_discord.rate_limit(method, pattern, retry_after=RETRY_AFTER_S, is_global=is_global)
    await dispatch(gateway, interaction())
    assert statuses(fake_discord, method, pattern) == [429, 200]
    assert gap_s(fake_discord, method, pattern) >= RETRY_AFTER_S
    check(fake_discord)
    print(f"\n429 ({'global' if is_global else 'route'}) on the {route}: retried after "
          f"{gap_s(fake_discord, method, pattern) * 1000:.0f} ms, one answer")


@pytest.mark.parametrize(("route", "is_global"), [
    ("interaction callback", False), ("interaction callback", True), ("message edit", False)])
async def test_429_past_the_retry_limit_is_logged_and_the_user_told(gateway, fake_discord: FakeDiscord,
                                                                    logs, route: str, is_global: bool):
    """Five 429s in a row (discord.py's five tries): it raises; we log it with the interaction's
    id and user, the user gets the ephemeral "something went wrong" instead, and the next
    interaction is answered normally."""
    method, pattern, interaction, _ = ANSWER_ROUTES[route]
    fake_discord.rate_limit(method, pattern, times=5, retry_after=0.1, is_global=is_global)
    await dispatch(gateway, payload := interaction())
    assert statuses(fake_discord, method, pattern)[:5] == [429] * 5
    [failed] = [r for r in logs.records if r.getMessage().startswith("Discord interaction failed")]
    assert p.USER_ID in failed.getMessage() and failed.interaction_id == payload["id"]
    assert "429" in (failed.exc_text or "")
    told = fake_discord.answered("POST", CALLBACK if route == "interaction callback" else FOLLOWUP)[-1]
    assert told.json.get("data", told.json)["flags"] & 64
    assert "went wrong" in told.json.get("data", told.json)["embeds"][0]["title"]
    await next_interaction_is_answered(gateway, fake_discord)
    assert no_token_logged(logs)


async def next_interaction_is_answered(bot, fake: FakeDiscord) -> None:
    before = len(fake.answered("POST", CALLBACK))
    await dispatch(bot, p.slash("define", {"term": "gguf"}))
    answers = fake.answered("POST", CALLBACK)
    assert len(answers) == before + 1 and answers[-1].json["type"] == 4
    assert "GGUF" in answers[-1].json["data"]["embeds"][0]["title"]


async def test_cloudflare_429_is_not_retried(gateway, fake_discord: FakeDiscord, logs):
    """A 429 without Discord's Via header (Cloudflare blocking the address) is not retried by
    discord.py: logged, the user told, next interaction fine."""
    fake_discord.rate_limit("POST", CALLBACK, via=False)
    payload = p.slash("define", {"term": "kv cache"})
    await dispatch(gateway, payload)
    assert statuses(fake_discord, "POST", CALLBACK) == [429, 200]   # the failure notice, not a retry
    assert "went wrong" in fake_discord.answered("POST", CALLBACK)[0].json["data"]["embeds"][0]["title"]
    assert any(r.getMessage().startswith("Discord interaction failed") and r.interaction_id == payload["id"]
               for r in logs.records)
    await next_interaction_is_answered(gateway, fake_discord)


@pytest.mark.parametrize("status", [500, 502])
async def test_one_server_error_is_retried(gateway, fake_discord: FakeDiscord, status: int):
    """A single 500 or 502 on the callback: discord.py waits 1 s and retries; one answer."""
    fake_discord.fail("POST", CALLBACK, status=status)
    await dispatch(gateway, p.slash("define", {"term": "kv cache"}))
    assert statuses(fake_discord, "POST", CALLBACK) == [status, 200]
    assert gap_s(fake_discord, "POST", CALLBACK) >= 1.0
    check_define(fake_discord)


@pytest.mark.parametrize("route", ["interaction callback", "message edit"])
async def test_persistent_server_errors_are_logged_and_the_next_interaction_served(
        gateway, fake_discord: FakeDiscord, compressed: CompressedSleep, logs, route: str):
    """Five 500s in a row: discord.py backs off 1, 3, 5, 7, 9 s (run 100× faster here) and raises
    DiscordServerError; we log it with context, tell the user, and serve the next interaction."""
    method, pattern, interaction, _ = ANSWER_ROUTES[route]
    fake_discord.fail(method, pattern, times=5, status=500)
    await dispatch(gateway, payload := interaction())
    assert statuses(fake_discord, method, pattern)[:5] == [500] * 5
    assert [d for d in compressed.delays if d > 0][:5] == [1, 3, 5, 7, 9]
    [failed] = [r for r in logs.records if r.getMessage().startswith("Discord interaction failed")]
    assert p.USER_ID in failed.getMessage() and failed.interaction_id == payload["id"]
    assert "DiscordServerError" in (failed.exc_text or "")
    told = fake_discord.answered("POST", CALLBACK if route == "interaction callback" else FOLLOWUP)[-1]
    assert "went wrong" in told.json.get("data", told.json)["embeds"][0]["title"]
    await next_interaction_is_answered(gateway, fake_discord)


async def test_slow_discord_does_not_hold_up_other_interactions(gateway, fake_discord: FakeDiscord):
    """Discord takes 1.5 s to accept one answer: another user's interaction meanwhile is answered
    at once, and the slow one still arrives, once."""
    fake_discord.slow("POST", CALLBACK, delay_s=1.5)
    slow_one, quick_one = p.slash("define", {"term": "kv cache"}), p.slash("define", {"term": "gguf"},
                                                                           user_id=p.OTHER_USER_ID)
    gateway._connection.parse_interaction_create(slow_one)
    await fake_discord.wait_for("POST", CALLBACK)
    gateway._connection.parse_interaction_create(quick_one)
    await fake_discord.wait_until(lambda: len(fake_discord.answered("POST", CALLBACK)) == 1, 1.0)
    [first] = fake_discord.answered("POST", CALLBACK)
    assert "GGUF" in first.json["data"]["embeds"][0]["title"]
    await settle()
    titles = [r.json["data"]["embeds"][0]["title"] for r in fake_discord.answered("POST", CALLBACK)]
    assert len(titles) == 2 and "KV cache" in titles[0]   # recorded on arrival, answered last


# -- the gateway bot: REST calls outside interactions (auto-help replies) ---------------------------

@pytest.fixture
async def help_channels(gateway, store):
    """Two text channels with auto-help on."""
    await store.save_settings(ServerSettings("discord", p.GUILD_ID, autohelp_channels=frozenset({
        p.CHANNEL_ID, p.OTHER_CHANNEL_ID})))
    gateway._connection.parse_guild_create(p.guild_create(p.channel(p.CHANNEL_ID, 0),
                                                          p.channel(p.OTHER_CHANNEL_ID, 0)))
    await settle()
    return gateway


def reply_in(channel_id: str) -> str:
    return rf"/channels/{channel_id}/messages"


async def test_global_429_holds_every_rest_call_until_it_is_over(help_channels, fake_discord: FakeDiscord):
    """A global 429 (retry_after 0.5 s) on one auto-help reply: discord.py holds every REST call,
    a reply in another channel too, until it is over; then each reply is sent once."""
    fake_discord.rate_limit("POST", reply_in(p.CHANNEL_ID), retry_after=0.5, is_global=True)
    help_channels._connection.parse_message_create(p.message(ERROR_TEXT))
    [limited] = await fake_discord.wait_for("POST", reply_in(p.CHANNEL_ID))
    await asyncio.sleep(0.1)   # discord.py has read the 429 and holds the global lock
    help_channels._connection.parse_message_create(p.message(ERROR_TEXT, channel_id=p.OTHER_CHANNEL_ID))
    await settle()
    assert statuses(fake_discord, "POST", reply_in(p.CHANNEL_ID)) == [429, 200]
    [other] = fake_discord.matching("POST", reply_in(p.OTHER_CHANNEL_ID))
    assert other.status == 200 and other.at - limited.at >= 0.5
    print(f"\nglobal 429: the other channel's reply held {(other.at - limited.at) * 1000:.0f} ms")
    assert all("NVML" in r.json["embeds"][0]["title"] for r in fake_discord.answered("POST", CHANNEL_MESSAGES))


@pytest.mark.parametrize(("times", "retry_after", "expected"), [
    (5, 0.1, [429] * 5),          # past discord.py's five tries: HTTPException, caught by auto-help
    (1, 60.0, [429]),             # longer than MAX_RATELIMIT_WAIT_S: RateLimited at once, no wait
])
async def test_rest_429_we_do_not_wait_out_is_logged(help_channels, fake_discord: FakeDiscord, logs,
                                                     times: int, retry_after: float, expected: list[int]):
    """A reply rate limited past the retry limit, or for longer than 30 s: no reply, an error
    logged naming the message and channel, and the next message in the channel gets its reply."""
    fake_discord.rate_limit("POST", reply_in(p.CHANNEL_ID), times=times, retry_after=retry_after)
    first = p.message(ERROR_TEXT)
    help_channels._connection.parse_message_create(first)
    await asyncio.wait_for(settle(), 10)
    assert statuses(fake_discord, "POST", reply_in(p.CHANNEL_ID)) == expected
    assert any(r.levelno == logging.ERROR and first["id"] in r.getMessage() and p.CHANNEL_ID in r.getMessage()
               for r in logs.records)
    help_channels._connection.parse_message_create(p.message(ERROR_TEXT))
    await settle()
    assert statuses(fake_discord, "POST", reply_in(p.CHANNEL_ID)) == [*expected, 200]


# -- the HTTP endpoint's follow-ups (adapters/discord/webhook.py) -----------------------------------

@pytest.fixture
def deferred(monkeypatch) -> None:
    """Every command takes longer than the (shortened) budget, so the answer is a follow-up; the
    retry policy's backoff and timeout are shortened."""
    import adapters.discord.http_endpoint as endpoint_module

    real = endpoint_module.produce

    async def slow_produce(store, request):
        await asyncio.sleep(0.1)
        return await real(store, request)

    monkeypatch.setattr(endpoint_module, "BUDGET_S", 0.02)
    monkeypatch.setattr(endpoint_module, "produce", slow_produce)
    monkeypatch.setattr(webhook, "POLICY", webhook.RetryPolicy(backoff_s=0.05, timeout_s=0.5))


async def deferred_define(endpoint: Signer, term: str = "kv cache") -> None:
    r = await endpoint.post(p.slash("define", {"term": term}))
    assert r.status == 200 and r.json()["type"] == 5


async def test_follow_up_429_is_waited_out_then_delivered(endpoint: Signer, fake_discord: FakeDiscord,
                                                         deferred, logs):
    """A 429 (retry_after 0.3 s) on the follow-up edit: one wait of at least retry_after, then
    the card, once; a warning without the token."""
    fake_discord.rate_limit("PATCH", ORIGINAL, retry_after=RETRY_AFTER_S)
    await deferred_define(endpoint)
    await fake_discord.wait_until(lambda: len(fake_discord.answered("PATCH", ORIGINAL)) == 1)
    assert statuses(fake_discord, "PATCH", ORIGINAL) == [429, 200]
    assert gap_s(fake_discord, "PATCH", ORIGINAL) >= RETRY_AFTER_S
    print(f"\nHTTP endpoint follow-up 429: retried after {gap_s(fake_discord, 'PATCH', ORIGINAL) * 1000:.0f} ms")
    assert "KV cache" in fake_discord.answered("PATCH", ORIGINAL)[0].json["embeds"][0]["title"]
    assert any("retrying in 0.30 s" in r.getMessage() for r in logs.records)
    assert no_token_logged(logs)


@pytest.mark.parametrize(("fault", "expected"), [
    ({"status": 429, "times": 5}, [429, 429, 429]),                  # three tries, then give up
    ({"status": 429, "times": 1, "retry_after": 60.0}, [429]),       # longer than we wait: no retry
    ({"status": 429, "times": 1, "via": False}, [429]),              # Cloudflare: never retried
    ({"status": 500, "times": 5}, [500, 500, 500]),
    ({"status": 404, "times": 1}, [404]),                            # a client error: not retried
])
async def test_follow_up_failures_are_bounded_and_logged(endpoint: Signer, fake_discord: FakeDiscord,
                                                         deferred, logs, fault: dict[str, Any],
                                                         expected: list[int]):
    """Failures retrying cannot fix stop at three tries or fewer, each logged as an error with the
    user and without the token; the next interaction's follow-up goes through."""
    status = fault.pop("status")
    if status == 429:
        fake_discord.rate_limit("PATCH", ORIGINAL, **fault)
    else:
        fake_discord.fail("PATCH", ORIGINAL, status=status, **fault)
    await deferred_define(endpoint)
    await wait_quiet(fake_discord, lambda: any(r.levelno == logging.ERROR for r in logs.records))
    assert statuses(fake_discord, "PATCH", ORIGINAL) == expected
    [error] = [r for r in logs.records if r.levelno == logging.ERROR]
    assert "gave up" in error.getMessage() and p.USER_ID in error.getMessage()
    assert no_token_logged(logs)
    fake_discord.faults.clear()
    await deferred_define(endpoint, "gguf")
    await fake_discord.wait_until(lambda: len(fake_discord.answered("PATCH", ORIGINAL)) == 1)


async def wait_quiet(fake: FakeDiscord, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Until ``condition`` holds, then a little longer so a wrong extra retry would be seen."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)


async def test_follow_up_server_error_then_success(endpoint: Signer, fake_discord: FakeDiscord, deferred):
    """A 502 then a success: the card is delivered on the second try."""
    fake_discord.fail("PATCH", ORIGINAL, status=502)
    await deferred_define(endpoint)
    await fake_discord.wait_until(lambda: len(fake_discord.answered("PATCH", ORIGINAL)) == 1)
    assert statuses(fake_discord, "PATCH", ORIGINAL) == [502, 200]


async def test_follow_up_edit_that_times_out_is_retried(endpoint: Signer, fake_discord: FakeDiscord,
                                                        deferred, logs):
    """Discord too slow (1 s, the attempt's timeout 0.5 s) on the edit: retried, as editing twice
    is harmless; the card arrives."""
    fake_discord.slow("PATCH", ORIGINAL, delay_s=1.0)
    await deferred_define(endpoint)
    await fake_discord.wait_until(lambda: len(fake_discord.matching("PATCH", ORIGINAL)) == 2)
    second = fake_discord.matching("PATCH", ORIGINAL)[1]
    await fake_discord.wait_until(lambda: second.status == 200)
    assert any("no answer" in r.getMessage() and "retrying" in r.getMessage() for r in logs.records)


async def test_follow_up_post_that_times_out_is_not_repeated(endpoint: Signer, fake_discord: FakeDiscord,
                                                             deferred, logs):
    """The private error message (a POST) times out: not sent again, since Discord may have posted
    it already; an error is logged with the user."""
    fake_discord.slow("POST", FOLLOWUP, delay_s=1.0)
    await deferred_define(endpoint, "no such term xyz")
    await wait_quiet(fake_discord, lambda: any(r.levelno == logging.ERROR for r in logs.records))
    assert len(fake_discord.matching("POST", FOLLOWUP)) == 1
    [error] = [r for r in logs.records if r.levelno == logging.ERROR]
    assert "may have been delivered" in error.getMessage() and p.USER_ID in error.getMessage()
