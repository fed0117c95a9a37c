"""/help and /about: what the bot can do and how it computes its verdicts."""

from __future__ import annotations

from catalog.loader import get_catalog

from bot.card import Card
from bot.estimator.budget import BACKEND_OVERHEAD_GIB, DISPLAY_RESERVE_GIB, OS_RESERVE_GIB
from bot.estimator.fit import HEADROOM_COMFORTABLE, PLEASANT_TOK_S
from bot.registry import Command, Request


def help_card(commands: list[Command]) -> Card:
    card = Card(title="runlocalai-bot", verdict="info",
                summary="Answers local-AI questions with numbers computed from real model architectures and hardware specs.")
    for c in commands:
        ex = f"\n`{c.examples[0]}`" if c.examples else ""
        card.add(f"/{c.name}", c.description + ex, inline=False)
    return card


def about_card() -> Card:
    counts = get_catalog().counts()
    card = Card(title="How verdicts are computed", verdict="info",
                summary="Memory is computed per tensor from the model's config.json and the quantization's "
                        "per-tensor types (as llama.cpp assigns them), plus the KV cache, compute buffers and "
                        "backend overhead, and compared per device against its usable memory. Speed comes from "
                        "bytes moved per token over memory bandwidth, calibrated on public measurements.")
    card.add("Verdicts", f"🟢 comfortable: everything on the GPU(s), at least {HEADROOM_COMFORTABLE:.0%} headroom on each, "
             f"≥ {PLEASANT_TOK_S:g} tok/s\n🟡 tradeoffs: little headroom, partial CPU offload, or slow\n"
             "🔴 no: does not fit even with offload", inline=False)
    card.add("Evidence labels", "measured: a published benchmark with a source\ncommunity: a submitted record\n"
             "estimated: computed by the estimator", inline=False)
    card.add("Budget rules", f"discrete GPU: VRAM − {DISPLAY_RESERVE_GIB} GiB; backend overhead per GPU: "
             + ", ".join(f"{k} {v} GiB" for k, v in BACKEND_OVERHEAD_GIB.items() if v)
             + f"\nApple: macOS GPU working-set limit (2/3 of memory up to 36 GB, 3/4 above)\n"
               f"unified/CPU: memory − {OS_RESERVE_GIB:g} GiB for the OS", inline=False)
    card.add("Catalog", ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()), inline=False)
    return card


def build(registry_commands) -> tuple[Command, Command]:
    async def handle_help(request: Request) -> Card:
        return help_card(list(registry_commands()))

    async def handle_about(request: Request) -> Card:
        return about_card()

    return (Command("help", "What the bot can do, with examples.", handle_help),
            Command("about", "How verdicts are computed, evidence labels and thresholds.", handle_about))
