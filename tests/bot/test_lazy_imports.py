"""Each mode imports only what it uses: the other platform's library is never loaded, and the
console loads no server stack. One fresh interpreter per mode (all started at once, so the test
takes about as long as the slowest mode's start-up); bench/startup.py times the same modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISCORD_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"   # RFC 8032 test key

# mode: (what the mode does to start, libraries it must load, libraries it must not load)
MODES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "console": (
        ("import bot.cli; bot.cli.start(); import bot.console, bot.store.factory; "
         "from bot.config import Settings; Settings(_env_file=None)"),
        ("rich", "pydantic_settings"),
        ("aiohttp", "discord", "nacl", "slack_bolt", "slack_sdk", "prometheus_client"),
    ),
    "discord-http": (
        ("import bot.cli; bot.cli.start(); import bot.serve; from bot.config import Settings; "
         "from adapters.discord import build_http_app; "
         f"build_http_app(Settings(_env_file=None, DISCORD_PUBLIC_KEY='{DISCORD_KEY}', "
         "DISCORD_APPLICATION_ID='1'), None)"),
        ("aiohttp", "nacl"),
        ("discord", "slack_bolt", "slack_sdk", "rich"),
    ),
    "discord-gateway": (
        ("import bot.cli; bot.cli.start(); import bot.serve; from adapters.discord import run_gateway; "
         "import adapters.discord.bot"),
        ("discord",),
        ("slack_bolt", "slack_sdk", "rich"),
    ),
    "slack-http": (
        ("import bot.cli; bot.cli.start(); import bot.serve; from bot.config import Settings; "
         "from adapters.slack import build_http_app; "
         "build_http_app(Settings(_env_file=None, SLACK_BOT_TOKEN='xoxb-x', SLACK_SIGNING_SECRET='s'), None)"),
        ("slack_bolt",),
        ("discord", "nacl", "rich"),
    ),
    "slack-socket": (
        "import bot.cli; bot.cli.start(); import bot.serve; from adapters.slack import run_socket_mode",
        ("slack_bolt",),
        ("discord", "nacl", "rich"),
    ),
    "packages only": (
        "import adapters.discord, adapters.slack",
        (),
        ("discord", "slack_bolt", "slack_sdk", "aiohttp", "nacl"),
    ),
}
WATCHED = sorted({m for _, must, never in MODES.values() for m in (*must, *never)})
REPORT = f"import json, sys; print(json.dumps([m for m in {WATCHED!r} if m in sys.modules]))"


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    """The watched libraries each mode had imported once started (all modes run concurrently)."""
    procs = {mode: subprocess.Popen([sys.executable, "-c", f"{code}\n{REPORT}"], cwd=ROOT, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for mode, (code, _, _) in MODES.items()}
    out: dict[str, list[str]] = {}
    for mode, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{mode} failed to start:\n{stderr}"
        out[mode] = json.loads(stdout.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize("mode", list(MODES))
def test_mode_imports_only_what_it_uses(loaded: dict[str, list[str]], mode: str):
    _, must, never = MODES[mode]
    assert [m for m in never if m in loaded[mode]] == [], f"{mode} imported another mode's libraries"
    assert [m for m in must if m not in loaded[mode]] == [], f"{mode} did not start what it should"


def test_package_exports_resolve_lazily():
    """``from adapters.discord import build_http_app`` etc. still work (PEP 562 ``__getattr__``)."""
    import adapters.discord
    import adapters.slack

    assert callable(adapters.discord.build_http_app) and callable(adapters.discord.run_gateway)
    assert {"build_app", "build_http_app", "register_listeners", "run_socket_mode"} <= set(dir(adapters.slack))
    with pytest.raises(AttributeError):
        adapters.discord.no_such_thing  # noqa: B018
