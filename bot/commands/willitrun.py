"""/willitrun: will this model run on this hardware, how fast, at what context."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.card import VERDICT_EMOJI, Action, Card, Menu, MenuChoice, Source, error_card
from bot.estimator import FitResult, Options, PlanError, estimate, plan, solvers
from bot.estimator.fit import Setup
from bot.estimator.keys import value_token
from bot.estimator.repro import commands
from bot.estimator.solvers import LRU, Step, best_quant, hardware_scan, ladder, max_context
from bot.registry import Command, Option, Request
from catalog.loader import get_catalog
from catalog.resolve import SetupMatch

from ._common import UserError, bar, gib, need, need_setup, resolver, tok_s
from .bench import add_community_evidence, viewer_of

TIER_TEXT = {
    "comfortable": "Runs comfortably",
    "tradeoffs": "Runs, with trade-offs",
    "no": "Won't run",
}


def build_request(opts: dict[str, Any]):
    """Typed options -> (catalog, FitRequest); raises UserError on bad input."""
    cat, req, _ = _build(opts)
    return cat, req


def _build(opts: dict[str, Any]) -> tuple[Any, Any, Setup | None]:
    """``build_request``, and the Setup the fitted context was found with (if any)."""
    cat = get_catalog()
    r = resolver()
    model = need(r.models.resolve(str(opts.get("model", ""))), "model", "llama 3.1 8b")
    setup = _resolve_setup(r, str(opts.get("hardware", "")))
    need_setup(setup)
    quant = runtime = None
    if opts.get("quant"):
        quant = need(r.quants.resolve(str(opts["quant"])), "quantization", "Q4_K_M")
    if opts.get("runtime"):
        runtime = need(r.runtimes.resolve(str(opts["runtime"])), "runtime", "ollama")
    fa = opts.get("flash_attn")
    if isinstance(fa, str):
        fa = {"on": True, "off": False}.get(fa.lower())
    ctx = opts.get("ctx")
    if ctx is not None and not (128 <= int(ctx) <= 10_000_000):
        raise UserError(error_card("Context out of range", f"A context of {ctx} tokens is not something I can "
                                   "estimate; use 128 to 10,000,000 (e.g. 8192 or 32k)."))
    parallel = opts.get("parallel")
    if parallel is not None and not (1 <= int(parallel) <= 256):
        raise UserError(error_card("Parallel out of range", "Parallel sequences must be 1 to 256."))
    ram = opts.get("ram")
    if ram is not None and not (1 <= float(ram) <= 16384):
        raise UserError(error_card("RAM out of range", "System RAM must be 1 to 16384 GB."))
    kv = opts.get("kv_cache")
    if kv is not None and kv not in ("f16", "q8_0", "q4_0", "fp8"):
        raise UserError(error_card("Unknown KV cache type", f"'{kv}' is not a cache type; use f16, q8_0, q4_0 or fp8."))
    o = Options(quant=quant, runtime=runtime, backend=opts.get("backend"), ctx=int(ctx) if ctx else None,
                kv_type=kv, flash_attn=fa, parallel=int(parallel) if parallel else None,
                ram_gib=float(ram) if ram else None)
    try:
        req = plan(cat, model, setup.devices, o)
    except PlanError as exc:
        raise UserError(error_card("That combination doesn't work", str(exc))) from exc
    if ctx is None and req.runtime.id == "llama.cpp" and req.runtime.defaults.context is None:
        setup = Setup(req, cat)
        req = _llamacpp_fit_context(cat, req, setup)
        return cat, req, setup.at_context(req)
    return cat, req, None


# Resolved hardware set-ups by text: resolving "2x 3090" or "m4 max 64gb" costs ~1 ms (the
# lookup first tries the whole text, with fuzzy suggestions), and the same set-ups come back.
_SETUPS = LRU(1024)


def _resolve_setup(r, text: str) -> SetupMatch:
    return _SETUPS.get_or((value_token(r.catalog.hardware), text), lambda: r.setup(text))


def clear_caches(setups: bool = True) -> None:
    """Forget cached answers: the solvers' results, the hardware menus and (``setups``) the
    resolved hardware set-ups (benchmarks, tests)."""
    if setups:
        _SETUPS.clear()
    _HARDWARE_CHOICES.clear()
    _QUANT_CHOICES.clear()
    solvers.clear_caches()


def _llamacpp_fit_context(cat, req, setup: Setup | None = None):
    """llama-server's -c 0 means the model's trained context, shrunk by --fit to what fits
    (never below 4096): reproduce that instead of assuming a number."""
    setup = setup or Setup(req, cat)
    fit_ctx = max_context(req, cat, comfortable=True, setup=setup) or max_context(req, cat, setup=setup)
    ctx = max(4096, min(fit_ctx or 4096, req.model.architecture.max_context))
    notes = tuple(a for a in req.assumptions if not a.startswith("context "))
    why = (f"context {ctx:,} tokens: llama-server starts from the model's trained context "
           f"({req.model.architecture.max_context:,}) and --fit shrinks it to what fits (never below "
           "4,096); planned here with 10% headroom left")
    return replace(req, ctx=ctx, assumptions=notes + (why,))


def analyse(opts: dict[str, Any]) -> tuple[FitResult, int | None, str | None]:
    result, max_ctx, best_q, _ = _analyse(opts)
    return result, max_ctx, best_q


def _analyse(opts: dict[str, Any]) -> tuple[FitResult, int | None, str | None, Setup]:
    """The estimate, its largest context and best quant, and the Setup the menus reuse."""
    cat, req, setup = _build(opts)
    setup = setup or Setup(req, cat)
    result = estimate(req, cat, setup)
    return result, max_context(req, cat, setup=setup), best_quant(req, cat, setup=setup), setup


def evidence_for(result: FitResult) -> tuple[list[str], list[str]]:
    """Evidence labels and measured lines from curated benchmark records on the same tuple."""
    req = result.request
    cat = get_catalog()
    measured = []
    hw_ids = {d.spec.id for d in req.devices}
    count = sum(d.count for d in req.devices)
    for b in _benchmarks_of(cat).get((req.model.id, req.quant.id), ()):
        if b.hardware in hw_ids and b.count == count and b.backend == req.backend:
            measured.append(f"{b.test}: {b.tok_s:.1f} tok/s (measured, {b.source.split(' ')[0]})")
    labels = ["estimated"] + (["measured"] if measured else [])
    return labels, measured


_BENCH_INDEX = LRU(4)


def _benchmarks_of(cat) -> dict[tuple[str, str], list]:
    """The curated benchmark records by (model, quant), in catalog order."""
    def build() -> dict[tuple[str, str], list]:
        index: dict[tuple[str, str], list] = {}
        for b in cat.benchmarks:
            index.setdefault((b.model, b.quant), []).append(b)
        return index

    return _BENCH_INDEX.get_or(value_token(cat.benchmarks), build)


def willitrun_card(result: FitResult, max_ctx: int | None, best_q: str | None) -> Card:
    req = result.request
    model = req.model
    hw = " + ".join(d.label for d in req.devices) if req.devices else "CPU"
    card = Card(title=f"{model.name} on {hw}", verdict=result.fit)  # type: ignore[arg-type]
    card.summary = f"**{TIER_TEXT[result.fit]}** — " + "; ".join(result.reasons)
    lines = []
    for d in result.devices:
        lines.append(f"{d.label[:22]:<22} {bar(d.total, d.usable)} {gib(d.total)} / {gib(d.usable)}")
    if result.host is not None and (result.host.total > 0 and result.gpu_layers < result.total_layers or not result.devices):
        h = result.host
        lines.append(f"{'system RAM':<22} {bar(h.total, h.usable)} {gib(h.total)} / {gib(h.usable)}")
    card.bar = "\n".join(lines)
    card.add("Memory", f"weights {gib(result.weights)}\nKV cache {gib(result.kv_cache)} ({result.kv_type_effective})\n"
             f"compute {gib(result.compute)}\noverhead {gib(result.overhead)}\n**total {gib(result.total)}**")
    if result.decode_tok_s:
        lo, mid, hi = result.decode_tok_s
        full = result.decode_tok_s_full
        speed = f"~{tok_s(mid)} tok/s ({tok_s(lo)}–{tok_s(hi)})"
        if full and req.ctx > req.prompt_tokens:
            speed += f"\n~{tok_s(full[1])} tok/s with {req.ctx:,} tokens in context"
        card.add("Decode", speed)
    if result.prefill_tok_s and result.ttft_s is not None:
        card.add("Prefill", f"~{result.prefill_tok_s[1]:,.0f} tok/s\nTTFT {result.ttft_s:.2f} s for {req.prompt_tokens} tokens")
    card.add("Setup", f"{req.quant.id} · {req.runtime.name} · {req.backend}\nctx {req.ctx:,} · KV {result.kv_type_effective}"
             f" · FA {'on' if req.flash_attn else 'off'}\nGPU layers {result.gpu_layers}/{result.total_layers}")
    tips = []
    if max_ctx:
        tips.append(f"largest context fully on GPU: {max_ctx:,}")
    if best_q and best_q != req.quant.id:
        tips.append(f"best quant that fits comfortably: {best_q}")
    if tips:
        card.add("Headroom", "\n".join(tips))
    cmds = commands(result)
    if cmds:
        card.add("Commands", "\n".join(f"{k}:\n```\n{v}\n```" for k, v in cmds.items()), inline=False)
    labels, measured = evidence_for(result)
    if measured:
        card.add("Measured", "\n".join(measured[:5]), inline=False)
    card.add("Assumptions", "\n".join(f"• {a}" for a in result.assumptions[:10]), inline=False)
    card.evidence = labels
    card.sources = [Source("config.json", model.source)]
    for d in req.devices:
        card.sources.append(Source(d.spec.name, d.spec.source))
    args = (("model", model.id), ("hardware", _hw_arg(result)))
    if best_q and best_q != req.quant.id:
        card.actions.append(Action(f"Try {best_q}", command="willitrun", args=args + (("quant", best_q),)))
    if max_ctx and max_ctx != req.ctx:
        card.actions.append(Action(f"Largest context ({max_ctx // 1024}K)", command="willitrun",
                                   args=args + (("quant", req.quant.id), ("ctx", str(max_ctx)))))
    if req.kv_type == "f16" and req.quant.format == "gguf":
        card.actions.append(Action("q8_0 KV cache", command="willitrun",
                                   args=args + (("quant", req.quant.id), ("ctx", str(req.ctx)), ("kv_cache", "q8_0"))))
    card.footer = "Estimates: see /about for how verdicts are computed"
    return card


def _hw_arg(result: FitResult) -> str:
    parts = []
    for d in result.request.devices:
        mem = f" {d.memory_gib:g}gb" if len(d.spec.memory_gib) > 1 else ""
        parts.append(f"{d.count}x {d.spec.id}{mem}" if d.count > 1 else f"{d.spec.id}{mem}")
    return " + ".join(parts)


OTHER_HARDWARE_CHOICES = 10


def setup_args(result: FitResult, opts: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The options that reproduce this setup in a follow-up: model, hardware, quant and context,
    plus the runtime and KV cache type when they were asked for (defaults come back by themselves)."""
    req = result.request
    args = [("model", req.model.id), ("hardware", _hw_arg(result)), ("quant", req.quant.id),
            ("ctx", str(req.ctx))]
    if opts.get("runtime"):
        args.append(("runtime", req.runtime.id))
    if opts.get("kv_cache"):
        args.append(("kv_cache", str(opts["kv_cache"])))
    return tuple(args)


def _outcome(step: Step) -> str:
    """A choice's one-line estimate: verdict, memory, decode speed (what its answer will say)."""
    text = f"{VERDICT_EMOJI[step.tier]} {TIER_TEXT[step.tier]} · {gib(step.total)}"
    return text + (f" · ~{tok_s(step.decode[1])} tok/s" if step.decode else "")


def quant_menu(result: FitResult, args: tuple[tuple[str, str], ...], setup: Setup | None = None) -> Menu | None:
    """The other presets of the quant's family that the runtime loads and that run at all here,
    from most to fewest bits, each with its estimate at the same context."""
    cat, req = get_catalog(), result.request
    setup = setup if setup is not None and setup.req is req else Setup(req, cat)

    def build() -> tuple[MenuChoice, ...]:
        return tuple(MenuChoice(step.quant, step.quant, _outcome(step))
                     for step in ladder(req, cat, setup)  # estimate() with each preset
                     if step.loads and step.quant != req.quant.id and step.tier != "no")

    choices = _QUANT_CHOICES.get_or((solvers.ladder_key(setup), req.quant.id), build)
    return Menu("Try another quant", "willitrun", "quant", choices, args) if choices else None


_QUANT_CHOICES = LRU(1024)


def hardware_menu(result: FitResult, args: tuple[tuple[str, str], ...], setup: Setup | None = None) -> Menu | None:
    """Single GPUs and Macs of the catalog that run the same setup comfortably, each at its
    smallest memory size that does: the segment of the asker's hardware first (consumer cards for
    a consumer card), then by memory, then the fastest memory first."""
    cat, req = get_catalog(), result.request
    setup = setup if setup is not None and setup.req is req else Setup(req, cat)
    only = req.devices[0] if len(req.devices) == 1 and req.devices[0].count == 1 else None
    current = (only.spec.id, only.memory_gib) if only else None
    segment = req.devices[0].spec.segment if req.devices else None
    key = (solvers.hardware_key(setup), segment, current)
    choices = _HARDWARE_CHOICES.get_or(key, lambda: _hardware_choices(setup, segment, current))
    if not choices:
        return None
    return Menu("Try other hardware (runs comfortably)", "willitrun", "hardware", choices,
                _without(args, "hardware"))


_HARDWARE_CHOICES = LRU(1024)


def _hardware_choices(setup: Setup, segment: str | None, current: tuple[str, float] | None
                      ) -> tuple[MenuChoice, ...]:
    scan = hardware_scan(setup.req, setup.catalog, setup)  # what estimate() on each device gives
    ordered = scan.smallest_first()
    # The asker's segment first; the others only when it has too few (one may be the asker's own).
    picks = [hit for hit in ordered if hit[0].segment == segment]
    if len(picks) <= OTHER_HARDWARE_CHOICES:
        picks += [hit for hit in ordered if hit[0].segment != segment]
    texts = _device_texts(setup.catalog, setup.hardware_token())
    choices: list[MenuChoice] = []
    for spec, mem_gib in picks:
        if len(choices) == OTHER_HARDWARE_CHOICES:
            break
        if (spec.id, mem_gib) == current:
            continue
        label, value, tail = texts[spec.id, mem_gib]
        decode = scan.decode(spec)
        speed = f"~{tok_s(decode[1])} tok/s · " if decode else ""
        choices.append(MenuChoice(label, value, f"{VERDICT_EMOJI['comfortable']} {speed}{tail}"))
    return tuple(choices)


_DEVICE_TEXTS = LRU(4)


def _device_texts(catalog, token: int) -> dict[tuple[str, float], tuple[str, str, str]]:
    """The hardware menu's label, value and memory/bandwidth text of every catalog device at
    each of its memory sizes, by (id, size); built once per hardware table (``token``: its
    ``value_token``)."""
    def build() -> dict[tuple[str, float], tuple[str, str, str]]:
        texts = {}
        for spec in catalog.hardware.values():
            sized = len(spec.memory_gib) > 1
            for mem_gib in spec.memory_gib:
                texts[spec.id, mem_gib] = (spec.name + (f" {mem_gib:g}GB" if sized else ""),
                                           spec.id + (f" {mem_gib:g}gb" if sized else ""),
                                           f"{mem_gib:g} GB · {spec.memory_bandwidth_gbps:g} GB/s")
        return texts

    return _DEVICE_TEXTS.get_or(token, build)


def _without(args: tuple[tuple[str, str], ...], key: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in args if k != key)


def willitrun_menus(result: FitResult, opts: dict[str, Any], setup: Setup | None = None) -> list[Menu]:
    """"Try another quant" and "Try other hardware", each choice estimated before it is offered."""
    args = setup_args(result, opts)
    return [m for m in (quant_menu(result, _without(args, "quant"), setup), hardware_menu(result, args, setup))
            if m is not None]


async def handle(request: Request) -> Card:
    try:
        result, max_ctx, best_q, setup = _analyse(request.options)
    except UserError as exc:
        return exc.card
    card = willitrun_card(result, max_ctx, best_q)
    card.menus = willitrun_menus(result, request.options, setup)
    req = result.request
    await add_community_evidence(card, req.model.id, req.quant.id, {d.spec.id for d in req.devices},
                                 sum(d.count for d in req.devices), viewer_of(request))
    if wants_chart(request):
        from bot.charts import willitrun_chart

        card.chart_png = willitrun_chart(result, get_catalog())
    return card


def wants_chart(request: Request) -> bool:
    """Charts go where images render (Discord) or when asked for (chart=yes)."""
    asked = str(request.options.get("chart", "")).lower()
    return asked in ("yes", "on", "true") or (request.platform == "discord" and asked not in ("no", "off", "false"))


COMMAND = Command(
    name="willitrun",
    description="Will a model run on your hardware? Memory, speed, context and the commands to run it.",
    handler=handle,
    options=(
        Option("model", "Model, e.g. 'llama 3.1 8b' or 'qwen3:30b-a3b'", required=True, autocomplete="model"),
        Option("hardware", "Hardware, e.g. 'rtx 4090', '2x 3090', 'm4 max 128gb'", required=True, autocomplete="hardware"),
        Option("quant", "Quantization, e.g. Q4_K_M, Q8_0, AWQ-int4, MLX-4bit", autocomplete="quant"),
        Option("ctx", "Context length in tokens (e.g. 8192 or 32k)", type="int", min_value=128, max_value=10_000_000),
        Option("runtime", "llama.cpp, Ollama, LM Studio, vLLM, MLX ...", autocomplete="runtime"),
        Option("backend", "GPU backend", choices=("cuda", "rocm", "metal", "vulkan", "sycl", "cpu")),
        Option("kv_cache", "KV cache type", choices=("f16", "q8_0", "q4_0", "fp8")),
        Option("flash_attn", "Flash attention", choices=("on", "off")),
        Option("parallel", "Parallel sequences (slots)", type="int", min_value=1, max_value=256),
        Option("ram", "System RAM in GB (for offloading)", type="float", min_value=1, max_value=16384),
        Option("chart", "Attach a chart (memory per device, speed vs context)", choices=("yes", "no")),
    ),
    expensive=True,
    examples=("/willitrun llama 3.3 70b on 2x 3090 q4_k_m 32k ctx", "/willitrun qwen3 30b a3b on m4 max 64gb"),
)
