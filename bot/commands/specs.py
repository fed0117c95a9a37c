"""/model, /hardware, /runtime: spec cards with what fits, and their sources."""

from __future__ import annotations

from catalog.loader import get_catalog
from catalog.resolve import Device

from bot.card import Action, Card, Source
from bot.estimator import Options, estimate, plan
from bot.estimator import memory as mem
from bot.registry import Command, Option, Request

from ._common import UserError, gib, need, need_setup, resolver

SIZE_QUANTS = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "Q2_K")


def model_card(model_id_or_text: str) -> Card:
    cat = get_catalog()
    m = need(resolver().models.resolve(model_id_or_text), "model", "qwen3 8b")
    a = m.architecture
    card = Card(title=m.name, verdict="info",
                summary=f"{m.developer} · {m.params_total_b:g}B parameters"
                        + (f" ({m.params_active_b:g}B active)" if m.params_active_b else "")
                        + f" · {a.max_context:,} tokens context · {m.license}")
    attn = a.attention.upper()
    if a.sliding_window:
        attn += f" + sliding window {a.sliding_window.window} (pattern {a.sliding_window.pattern})"
    card.add("Architecture", f"{a.num_layers} layers · hidden {a.hidden_size}\n{a.num_attention_heads} heads / "
             f"{a.num_kv_heads} KV heads · head dim {a.head_dim}\n{attn}")
    if a.moe:
        card.add("MoE", f"{a.moe.num_experts} experts, {a.moe.experts_per_token} per token"
                 + (f", {a.moe.num_shared_experts} shared" if a.moe.num_shared_experts else ""))
    sizes = []
    for q in SIZE_QUANTS:
        w = mem.weights(m, cat.quants[q], cat.ggml_types)
        sizes.append(f"{q}: {gib(w.file_bytes)}")
    card.add("GGUF sizes", "\n".join(sizes))
    card.add("KV cache", f"{mem.kv_bytes_per_token(a) / 1024:.0f} KiB per token (f16)\n"
             f"8K: {gib(mem.llamacpp_kv(a, 8192, 'f16', 'f16', 1, 512).total)} · "
             f"32K: {gib(mem.llamacpp_kv(a, 32768, 'f16', 'f16', 1, 512).total)}")
    if m.ollama_tags:
        card.add("Ollama", ", ".join(f"`{t}`" for t in m.ollama_tags[:5]))
    card.evidence = ["estimated (sizes computed per tensor)"]
    card.sources = [Source("config.json", m.source), Source("Hugging Face", f"https://huggingface.co/{m.hf_repo}")]
    card.actions = [Action("Will it run on a 24 GB GPU?", command="willitrun",
                           args=(("model", m.id), ("hardware", "rtx-4090")))]
    return card


def hardware_card(text: str) -> Card:
    cat = get_catalog()
    setup = resolver().setup(text)
    need_setup(setup)   # blank or unresolved text: a friendly card, not an IndexError
    d = setup.devices[0]
    h = d.spec
    card = Card(title=h.name, verdict="info",
                summary=f"{h.vendor.upper()} · {h.kind.replace('_', ' ')} · {', '.join(f'{g:g} GB' for g in h.memory_gib)}"
                        f" · {h.memory_bandwidth_gbps:g} GB/s")
    card.add("Compute", f"{h.fp16_tensor_tflops:g} TFLOPS dense FP16" if h.fp16_tensor_tflops else "FP16 tensor: unknown")
    card.add("Backends", ", ".join(h.backends))
    extra = [f"released {h.release_year}"]
    if h.tdp_w:
        extra.append(f"{h.tdp_w:g} W")
    if h.launch_price_usd:
        extra.append(f"${h.launch_price_usd:,.0f} at launch")
    card.add("Facts", " · ".join(extra))
    # What fits comfortably at 8K context with the default quant, largest first.
    fits = []
    dev = (Device(h, d.count, d.memory_gib),)
    for m in sorted(cat.models.values(), key=lambda x: -x.params_total_b):
        try:
            req = plan(cat, m, dev, Options(ctx=8192))
        except Exception:  # noqa: BLE001 - a runtime/back-end mismatch just means "not listed"
            continue
        if estimate(req, cat).fit == "comfortable":
            fits.append(f"{m.name} ({req.quant.id})")
        if len(fits) >= 6:
            break
    card.add("Runs comfortably (8K ctx)", "\n".join(fits) or "nothing in the catalog", inline=False)
    card.evidence = ["specs from source", "fits estimated"]
    card.sources = [Source("spec source", h.source)]
    if h.notes:
        card.footer = h.notes[:300]
    return card


def runtime_card(text: str) -> Card:
    r = need(resolver().runtimes.resolve(text), "runtime", "ollama")
    d = r.defaults
    card = Card(title=r.name, verdict="info", summary=r.notes or f"Loads {', '.join(r.formats)}.")
    card.add("Formats", ", ".join(r.formats))
    card.add("Backends", ", ".join(r.backends))
    defaults = []
    if d.context:
        defaults.append(f"context {d.context:,}")
    for t in d.context_tiers:
        defaults.append(f"context {t.context:,} from {t.min_memory_gib:g} GiB")
    if d.context_rule:
        defaults.append(d.context_rule)
    for label, v in (("n_batch", d.n_batch), ("n_ubatch", d.n_ubatch), ("flash attention", d.flash_attention),
                     ("KV cache", d.kv_cache_type), ("parallel", d.parallel),
                     ("gpu_memory_utilization", d.gpu_memory_utilization)):
        if v is not None:
            defaults.append(f"{label} {v}")
    card.add("Defaults", "\n".join(defaults) or "—", inline=False)
    if r.commands:
        card.add("Commands", "\n".join(f"{k}: `{v}`" for k, v in r.commands.items()), inline=False)
    card.sources = [Source("defaults", d.source), Source("home", r.homepage)]
    return card


async def handle_model(request: Request) -> Card:
    try:
        return model_card(str(request.options.get("id", "")))
    except UserError as exc:
        return exc.card


async def handle_hardware(request: Request) -> Card:
    try:
        return hardware_card(str(request.options.get("id", "")))
    except UserError as exc:
        return exc.card


async def handle_runtime(request: Request) -> Card:
    try:
        return runtime_card(str(request.options.get("id", "")))
    except UserError as exc:
        return exc.card


MODEL = Command("model", "Specs of a model: architecture, GGUF sizes per quant, KV cache per token.",
                handle_model, (Option("id", "Model, e.g. 'qwen3 30b a3b'", required=True, autocomplete="model"),),
                examples=("/model qwen3 30b a3b",))
HARDWARE = Command("hardware", "Specs of a GPU or Mac and which models run comfortably on it.",
                   handle_hardware, (Option("id", "Hardware, e.g. 'rtx 3090'", required=True, autocomplete="hardware"),),
                   expensive=True, examples=("/hardware rtx 3090",))
RUNTIME = Command("runtime", "A runtime's formats, backends and the defaults that change memory use.",
                  handle_runtime, (Option("id", "Runtime, e.g. 'ollama'", required=True, autocomplete="runtime"),),
                  examples=("/runtime ollama",))
