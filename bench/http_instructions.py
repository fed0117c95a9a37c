"""Instructions per request of each HTTP server in bench/load_http.py, counted by callgrind.

Wall-clock CPU per request on a small shared VM moves by ±30 % from run to run; the number of
instructions a server executes per request does not (±0.5 % here), so this is the figure to
compare two versions of the front-ends with. Each server (the bare aiohttp ceiling, the Discord
interactions endpoint, the Slack events app, built exactly as in load_http.py) runs under
``valgrind --tool=callgrind``; the load generator (a normal process) sends a warm-up, the
counters are zeroed (``callgrind_control -z``), ``--requests`` more requests follow at
concurrency 4, and the counters are dumped. Counted: user-space instructions of the server
process (Python, aiohttp, libsodium, ...), not the kernel's socket work, not the load generator.

No target: information for PERFORMANCE.md. Needs valgrind (Debian: valgrind). About 1-2 min per
server, since Python runs ~50 times slower under callgrind.

Run: python bench/http_instructions.py [--requests 300] [--kind discord ...]
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD = ROOT / "bench" / "load_http.py"
sys.path.insert(0, str(ROOT / "bench"))

from load_http import NAMES, _wait_healthy, free_port  # noqa: E402

WARM_UP = 200          # the requests every load_http.py drive sends before its measured ones
CONCURRENCY = 4


def _drive(kind: str, port: int, sink_port: int, count: int) -> int:
    """Send ``count`` measured requests (after load_http.py's own warm-up); the number sent."""
    subprocess.run([sys.executable, str(LOAD), "--drive", kind, "--port", str(port), "--sink-port", str(sink_port),
                    "--mode", "closed", "--count", str(count), "--duration", "3600",
                    "--concurrency", str(CONCURRENCY), "--rate", "1"],
                   check=True, capture_output=True, cwd=ROOT, timeout=3600)
    return count + WARM_UP


def instructions_per_request(kind: str, requests: int) -> float:
    port, sink_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="runlocalai-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        sink = subprocess.Popen([sys.executable, str(LOAD), "--serve", "sink", "--port", str(sink_port)], cwd=ROOT)
        server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
                                   "--dump-instr=no", sys.executable, str(LOAD), "--serve", kind,
                                   "--port", str(port), "--sink-port", str(sink_port)],
                                  cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            _wait_healthy(sink_port, sink)
            _wait_healthy(port, server, timeout_s=600)   # Python starts ~50x slower under callgrind
            _drive(kind, port, sink_port, 100)                       # caches, settings, imports on first use
            subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True, capture_output=True)
            sent = _drive(kind, port, sink_port, requests)
            subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True)
        finally:
            for proc in (server, sink):
                proc.send_signal(signal.SIGTERM)
            for proc in (server, sink):
                try:
                    proc.wait(120)
                except subprocess.TimeoutExpired:
                    proc.kill()
        # callgrind_control -d writes <file>.<pid>.1 (the measured span); the dump at exit, without
        # a suffix, covers the shutdown and is left out.
        dump = next(Path(tmp).glob("callgrind.out.*.1"), None)
        if dump is None:
            raise RuntimeError("callgrind wrote no dump for the measured span")
        match = re.search(r"^(?:totals|summary):\s+(\d+)", dump.read_text(errors="replace"), re.M)
        if match is None:
            raise RuntimeError(f"no instruction total in {dump.name}")
        return int(match.group(1)) / sent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--kind", action="append", choices=list(NAMES), help="only these servers (repeatable)")
    args = p.parse_args()
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("needs valgrind (Debian: apt-get install valgrind)")
        return 1
    kinds = args.kind or list(NAMES)
    counts = {kind: instructions_per_request(kind, args.requests) for kind in kinds}
    print(f"user-space instructions per request, callgrind, {args.requests} + {WARM_UP} requests after a "
          f"warm-up, concurrency {CONCURRENCY}")
    ceiling = counts.get("ceiling")
    for kind, n in counts.items():
        ratio = f"{n / ceiling:6.1f}x the ceiling" if ceiling else ""
        print(f"{NAMES[kind]:<34}{n / 1e6:>8.3f} M  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
