"""Start-up: import to ready (catalog loaded and indexed, registry built, both platform adapters
imported, the HTTP apps built), and the resident memory of that ready process.

Each run is a fresh interpreter (nothing cached in memory; the OS file cache is warm after the
first). Targets: ready < 0.5 s, resident memory < 100 MB. Exits 1 when a target is missed.

Run: python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY_TARGET_S = 0.5
RSS_TARGET_MB = 100.0

CHILD = r"""
import time
t0 = time.perf_counter()
import json, sys
sys.path.insert(0, %(root)r)
marks = {}
def mark(name):
    marks[name] = round(time.perf_counter() - t0, 4)
import bot.serve, bot.config, bot.observability; mark("bot core + config + prometheus")
import catalog.loader
cat = catalog.loader.get_catalog(); mark("catalog loaded (YAML + validation)")
from catalog.resolve import get_resolver
r = get_resolver()
for index in (r.models, r.hardware, r.quants, r.runtimes, r.glossary, r.errors, r.quick, r.api_prices):
    len(index)
mark("lookup indexes built")
from bot.commands import build_registry
build_registry(); mark("command registry")
import discord; mark("discord.py imported")
import adapters.discord; mark("Discord adapter imported")
import slack_bolt; mark("slack_bolt imported")
import adapters.slack; mark("Slack adapter imported")
from nacl.signing import SigningKey
from bot.config import Settings
s = Settings(_env_file=None, DISCORD_PUBLIC_KEY=SigningKey.generate().verify_key.encode().hex(),
             DISCORD_APPLICATION_ID="1", SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s")
adapters.discord.build_http_app(s, None)
adapters.slack.build_http_app(s, None)
mark("HTTP apps built (ready)")
ready = time.perf_counter() - t0
status = open("/proc/self/status").read()
kb = lambda key: int(next(l for l in status.splitlines() if l.startswith(key)).split()[1])
print(json.dumps({"ready_s": ready, "rss_mb": kb("VmRSS:") / 1024, "hwm_mb": kb("VmHWM:") / 1024, "marks": marks}))
"""


def one_run() -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD % {"root": str(ROOT)}], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    one_run()   # warm the OS file cache and __pycache__
    runs = [one_run() for _ in range(args.runs)]
    ready = statistics.median(r["ready_s"] for r in runs)
    rss = statistics.median(r["rss_mb"] for r in runs)
    print(f"import to ready: median {ready:.3f} s over {args.runs} fresh processes (target < {READY_TARGET_S} s)")
    print(f"resident memory when ready: median {rss:.1f} MB, peak {max(r['hwm_mb'] for r in runs):.1f} MB "
          f"(target < {RSS_TARGET_MB:.0f} MB)")
    print("cumulative time at each step (median run):")
    median_run = sorted(runs, key=lambda r: r["ready_s"])[len(runs) // 2]
    prev = 0.0
    for name, t in median_run["marks"].items():
        print(f"  {t:7.3f} s  (+{t - prev:6.3f})  {name}")
        prev = t
    missed = []
    if ready >= READY_TARGET_S:
        missed.append("ready time")
    if rss >= RSS_TARGET_MB:
        missed.append("resident memory")
    if missed:
        print("MISSED: " + ", ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
