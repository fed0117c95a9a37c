"""The ``runlocalai`` command line: the console, one-shot commands and catalog tools.

Start-up imports only what the chosen mode uses: this module imports nothing heavy at the top,
``start`` loads the catalog and the registry, and each subcommand imports its own front-end
(``serve`` the adapters it starts, the console rich). ``bench/startup.py`` measures each mode.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.registry import Registry

_started = False


def start(progress: Callable[[str], None] | None = None) -> Registry:
    """What every mode does first: load the catalog (``CatalogError`` when it is broken) and build
    the command registry. ``progress(step)`` is called after each step (for bench/startup.py).

    The first time in a process, the cyclic garbage collector is paused meanwhile, and what
    start-up allocated (modules, the catalog, the registry: all of it lives as long as the process)
    is then frozen out of its way (``gc.freeze``). Collecting during start-up frees nothing and
    cost about a tenth of it; later full collections no longer walk the catalog either.
    """
    global _started
    first, was_enabled = not _started, gc.isenabled()
    if first:
        gc.disable()
    try:
        from catalog.loader import get_catalog

        if progress:
            progress("catalog modules imported (pydantic, schemas)")
        get_catalog()
        if progress:
            progress("catalog loaded")
        from bot.commands import build_registry

        registry = build_registry()
        if progress:
            progress("command registry")
    finally:
        if first:
            _started = True
            gc.freeze()
            if was_enabled:
                gc.enable()
    return registry


def _catalog_cmd(args: argparse.Namespace) -> int:
    from catalog.loader import CatalogError, get_catalog, load_catalog

    if args.action == "validate":
        try:
            cat = load_catalog()
        except CatalogError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            return 1
        print("catalog valid: " + ", ".join(f"{v} {k}" for k, v in cat.counts().items()))
        return 0
    cat = get_catalog()
    if args.action == "stats":
        counts = cat.counts()
        if args.json:
            print(json.dumps(counts, indent=2))
        else:
            for k, v in counts.items():
                print(f"{k:>15}: {v}")
        return 0
    from catalog.resolve import get_resolver

    r = get_resolver()
    text = " ".join(args.text)
    if args.action == "search":
        results: list[dict[str, Any]] = []
        for kind, index in (("model", r.models), ("hardware", r.hardware), ("glossary", r.glossary),
                            ("runtime", r.runtimes), ("quant", r.quants)):
            for e in index.complete(text, 5):
                results.append({"kind": kind, "id": getattr(e, "id"), "name": getattr(e, "name", getattr(e, "term", ""))})
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            for x in results:
                print(f"{x['kind']:>9}  {x['id']:<32} {x['name']}")
        return 0 if results else 1
    # show
    for kind, index in (("model", r.models), ("hardware", r.hardware), ("runtime", r.runtimes),
                        ("glossary", r.glossary), ("quant", r.quants)):
        m = index.resolve(text)
        if m.found:
            data = m.entry.model_dump(mode="json")  # type: ignore[union-attr]
            print(json.dumps(data, indent=2) if args.json else _pretty(kind, data))
            return 0
    print(f"nothing named {text!r}; try `runlocalai catalog search {text}`", file=sys.stderr)
    return 2


def _pretty(kind: str, data: dict[str, Any]) -> str:
    import yaml

    return f"# {kind}\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _willitrun_json(args: argparse.Namespace) -> int:
    from bot.commands._common import UserError
    from bot.commands.willitrun import analyse, evidence_for
    from bot.estimator.repro import commands

    opts = {"model": args.model, "hardware": args.hardware, "quant": args.quant, "ctx": args.ctx,
            "runtime": args.runtime, "backend": args.backend, "kv_cache": args.kv_cache,
            "flash_attn": args.flash_attn, "parallel": args.parallel, "ram": args.ram}
    try:
        res, max_ctx, best_q = analyse({k: v for k, v in opts.items() if v is not None})
    except UserError as exc:
        print(f"{exc.card.title}: {exc.card.summary}", file=sys.stderr)
        for f in exc.card.fields:
            print(f"{f.name}:\n{f.value}", file=sys.stderr)
        return 2
    req = res.request
    rng = lambda t: None if t is None else {"low": round(t[0], 2), "expected": round(t[1], 2), "high": round(t[2], 2)}  # noqa: E731
    labels, measured = evidence_for(res)
    out = {
        "model": req.model.id, "hardware": [{"id": d.spec.id, "count": d.count, "memory_gib": d.memory_gib} for d in req.devices],
        "quant": req.quant.id, "ctx": req.ctx, "runtime": req.runtime.id, "backend": req.backend,
        "kv_cache_type": res.kv_type_effective, "flash_attn": req.flash_attn, "parallel": req.parallel,
        "memory": {"weights": res.weights, "kv_cache": res.kv_cache, "compute": res.compute,
                   "overhead": res.overhead, "total": res.total},
        "devices": [{"label": d.label, "weights": d.weights, "kv_cache": d.kv_cache, "compute": d.compute,
                     "overhead": d.overhead, "total": d.total, "usable": d.usable, "layers": d.layers} for d in res.devices],
        "host": None if res.host is None else {"weights": res.host.weights, "kv_cache": res.host.kv_cache,
                                               "compute": res.host.compute, "total": res.host.total, "usable": res.host.usable},
        "budget": res.budget, "fit": res.fit, "reasons": list(res.reasons),
        "gpu_layers": res.gpu_layers, "total_layers": res.total_layers,
        "decode_tok_s": rng(res.decode_tok_s), "decode_tok_s_full": rng(res.decode_tok_s_full),
        "prefill_tok_s": rng(res.prefill_tok_s), "ttft_s": None if res.ttft_s is None else round(res.ttft_s, 3),
        "max_ctx": max_ctx, "best_quant": best_q, "evidence": labels, "measured": measured,
        "assumptions": list(res.assumptions), "commands": commands(res),
    }
    print(json.dumps(out, indent=2))
    _write_chart(args, res)
    return 0


def _write_chart(args: argparse.Namespace, result) -> None:
    if getattr(args, "chart", None):
        from bot.charts import willitrun_chart
        from catalog.loader import get_catalog

        with open(args.chart, "wb") as fh:
            fh.write(willitrun_chart(result, get_catalog()))


def _run_command(name: str, text: str) -> int:
    import asyncio

    from bot.console import answer_text, print_card

    card = asyncio.run(answer_text(name, text))
    print_card(card)
    return 2 if card.verdict == "error" else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="runlocalai", description="runlocalai-bot: will it run, how fast, and why.")
    sub = p.add_subparsers(dest="cmd")
    c = sub.add_parser("catalog", help="inspect the catalog")
    c.add_argument("action", choices=("stats", "validate", "show", "search"))
    c.add_argument("text", nargs="*")
    c.add_argument("--json", action="store_true")
    w = sub.add_parser("willitrun", help="will MODEL run on HARDWARE")
    w.add_argument("model")
    w.add_argument("hardware")
    w.add_argument("--quant")
    w.add_argument("--ctx", type=lambda s: __import__("bot.parse", fromlist=["parse_context"]).parse_context(s))
    w.add_argument("--runtime")
    w.add_argument("--backend", choices=("cuda", "rocm", "metal", "vulkan", "sycl", "cpu"))
    w.add_argument("--kv-cache", dest="kv_cache", choices=("f16", "q8_0", "q4_0", "fp8"))
    w.add_argument("--flash-attn", dest="flash_attn", choices=("on", "off"))
    w.add_argument("--parallel", type=int)
    w.add_argument("--ram", type=float)
    w.add_argument("--json", action="store_true")
    w.add_argument("--chart", metavar="FILE.png", help="also write the chart (memory per device, speed vs context)")
    sub.add_parser("console", help="interactive console (the default)")
    sub.add_parser("db", help="`db export|import|migrate`: back up the database as JSON lines, move between backends")
    sub.add_parser("config", help="`config check [--json]`: the effective configuration (secrets masked), what will start")
    sub.add_parser("serve", help="start the Discord / Slack front-ends (see runlocalai serve --help)")
    sub.add_parser("discord", help="`discord sync [--guild ID]` registers the commands; `discord invite` prints the URL")
    return p


def main(argv: list[str] | None = None) -> int:
    from catalog.loader import CatalogError

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        registry = start()
    except CatalogError as exc:
        print(f"runlocalai: the catalog failed to load, not starting: {exc}", file=sys.stderr)
        return 1
    if argv and argv[0] == "serve":
        from bot.serve import main as serve_main

        return serve_main(argv[1:])
    if argv and argv[0] == "config":
        from bot.config_cli import main as config_main

        return config_main(argv[1:])
    if argv and argv[0] == "db":
        from bot.db_cli import main as db_main

        return db_main(argv[1:])
    if argv and argv[0] == "discord":
        from adapters.discord.cli import main as discord_main

        return discord_main(argv[1:])
    if argv and argv[0].lstrip("/") in registry.names() and argv[0] != "willitrun":
        return _run_command(argv[0], " ".join(argv[1:]))
    args = build_parser().parse_args(argv)
    if args.cmd == "catalog":
        return _catalog_cmd(args)
    if args.cmd == "willitrun":
        if args.json:
            return _willitrun_json(args)
        if args.chart:
            from bot.commands._common import UserError
            from bot.commands.willitrun import analyse

            try:
                _write_chart(args, analyse({"model": args.model, "hardware": args.hardware, "quant": args.quant,
                                            "ctx": args.ctx, "runtime": args.runtime})[0])
            except UserError as exc:
                print(f"{exc.card.title}: {exc.card.summary}", file=sys.stderr)
                return 2
        opts = [f"{k}={v}" for k, v in (("quant", args.quant), ("ctx", args.ctx), ("runtime", args.runtime),
                                        ("backend", args.backend), ("kv_cache", args.kv_cache),
                                        ("flash_attn", args.flash_attn), ("parallel", args.parallel),
                                        ("ram", args.ram)) if v is not None]
        return _run_command("willitrun", f'model="{args.model}" hardware="{args.hardware}" ' + " ".join(opts))
    from bot.console import run_console

    return run_console()


if __name__ == "__main__":
    raise SystemExit(main())
