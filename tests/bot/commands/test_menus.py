"""Select menus the commands offer: built from catalog data, and every choice runs what it says."""

from __future__ import annotations

import pytest

from bot.card import Card, Menu
from bot.commands.willitrun import TIER_TEXT
from bot.dispatch import run, run_text
from bot.estimator.solvers import GGUF_LADDER
from bot.registry import Request
from catalog.loader import get_catalog

TIER_OF = {text: tier for tier, text in TIER_TEXT.items()}


def menu(card: Card, placeholder: str) -> Menu:
    return next(m for m in card.menus if m.placeholder.startswith(placeholder))


async def choose(m: Menu, value: str) -> Card:
    """Run what choosing ``value`` runs, as the adapters do."""
    choice = next(c for c in m.choices if c.value == value)
    action = m.action_for(choice)
    assert action.command is not None
    return await run(Request(action.command, dict(action.args)))


@pytest.mark.parametrize("text", ["llama 3.3 70b on 2x 3090 q4_k_m 32k ctx", "llama 3.1 8b on rtx 3060 q8_0"])
async def test_willitrun_quant_menu_lists_presets_that_run(text: str):
    """"Try another quant": GGUF presets of the catalog other than the current one, most bits
    first, none that won't run, each choice's verdict the one its run gives."""
    card = await run_text("willitrun", text)
    quants = menu(card, "Try another quant")
    values = [c.value for c in quants.choices]
    current = dict(quants.args)
    assert values == [q for q in GGUF_LADDER if q in values]
    assert set(values) <= set(get_catalog().quants) and card.title and "quant" not in current
    assert {"model", "hardware", "ctx"} <= set(current)
    for choice in quants.choices:
        tier = next(t for text_, t in TIER_OF.items() if text_ in choice.description)
        assert tier != "no"
        chosen = await choose(quants, choice.value)
        assert chosen.verdict == tier, (choice, chosen.summary)
        setup = next(f.value for f in chosen.fields if f.name == "Setup")
        assert setup.startswith(choice.value) and f"ctx {int(current['ctx']):,}" in setup


async def test_willitrun_hardware_menu_lists_hardware_that_runs_it_comfortably():
    """"Try other hardware": catalog hardware ids, same segment first, each of which runs the same
    model, quant and context comfortably when chosen."""
    card = await run_text("willitrun", "llama 3.1 8b on rtx 3060 q8_0 16k ctx")
    hardware = menu(card, "Try other hardware")
    current = dict(menu(card, "Try another quant").args)["hardware"]
    assert 1 <= len(hardware.choices) <= 10
    assert current not in [c.value for c in hardware.choices]
    catalog = get_catalog()
    first = catalog.hardware[hardware.choices[0].value.split()[0]]
    assert first.segment == catalog.hardware[current].segment
    assert dict(hardware.args) == {"model": "llama-3.1-8b", "quant": "Q8_0", "ctx": "16384"}
    for choice in hardware.choices[:3]:
        assert choice.value.split()[0] in catalog.hardware
        chosen = await choose(hardware, choice.value)
        assert chosen.verdict == "comfortable", (choice, chosen.summary)


async def test_willitrun_menus_keep_an_asked_runtime():
    """A runtime the user asked for stays in the menus' fixed arguments (its formats decide the quants)."""
    card = await run_text("willitrun", "llama 3.1 8b on rtx 3090 runtime=vllm")
    for m in card.menus:
        assert dict(m.args)["runtime"] == "vllm"


async def test_define_related_terms_menu():
    """/define offers the glossary's related terms as a menu; each value is a term /define knows."""
    card = await run_text("define", "kv cache")
    related = menu(card, "Related terms")
    entry = get_catalog().glossary["kv-cache"]
    assert [c.value for c in related.choices] == entry.related
    assert related.command == "define" and related.option == "term" and related.args == ()
    chosen = await choose(related, related.choices[0].value)
    assert chosen.title == get_catalog().glossary[related.choices[0].value].term


async def test_errors_have_no_menus():
    """An error card offers no menus."""
    card = await run_text("willitrun", "lama 3.1 8bb on rtx 3090")
    assert card.verdict == "error" and card.menus == []


@pytest.mark.parametrize("options", [
    {"model": "llama 3.1 8b", "hardware": "rtx 3090"},
    {"model": "llama 3.3 70b", "hardware": "2x 3090", "quant": "q4_k_m", "ctx": 32768},
    {"model": "qwen3 30b a3b", "hardware": "m4 max 64gb"},
    {"model": "gpt-oss-20b", "hardware": "rtx 4060 ti 16gb", "runtime": "ollama"},
    {"model": "qwen2.5 7b", "hardware": "rtx 3090", "runtime": "vllm"},
    {"model": "gemma 3 27b", "hardware": "m3 max 128gb", "runtime": "mlx"},
    {"model": "mixtral 8x7b", "hardware": "rtx 3060", "ctx": 8192, "kv_cache": "q8_0"},
    {"model": "qwen2.5 0.5b", "hardware": "cpu-ddr5-5600-dual"},
])
async def test_willitrun_menus_match_estimating_every_choice(options):
    """Both menus list exactly what estimating every preset and every catalog device gives
    (the reference estimator, before the fast paths), the same with caches cold or warm."""
    from bot.card import VERDICT_EMOJI, MenuChoice
    from bot.commands._common import gib, tok_s
    from bot.commands.willitrun import OTHER_HARDWARE_CHOICES, TIER_TEXT, build_request, clear_caches
    from tests.bot.estimator import reference_estimator as ref

    clear_caches()
    cold = await run(Request("willitrun", dict(options)))
    warm = await run(Request("willitrun", dict(options)))
    assert repr(cold) == repr(warm)
    cat, req = build_request(dict(options))
    quants = tuple(MenuChoice(q, q, f"{VERDICT_EMOJI[fit]} {TIER_TEXT[fit]} · {gib(total)}"
                              + (f" · ~{tok_s(decode[1])} tok/s" if decode else ""))
                   for q, fit, total, decode in ref.quant_choices(req, cat))
    only = req.devices[0] if len(req.devices) == 1 and req.devices[0].count == 1 else None
    current = (only.spec.id, only.memory_gib) if only else None
    segment = req.devices[0].spec.segment
    found = [(cat.hardware[hid].segment != segment, mem_gib, -cat.hardware[hid].memory_bandwidth_gbps,
              cat.hardware[hid], decode)
             for hid, mem_gib, decode in ref.comfortable_hardware(req, cat) if (hid, mem_gib) != current]
    found.sort(key=lambda row: row[:3])
    hardware = tuple(
        MenuChoice(spec.name + (f" {m:g}GB" if len(spec.memory_gib) > 1 else ""),
                   spec.id + (f" {m:g}gb" if len(spec.memory_gib) > 1 else ""),
                   f"{VERDICT_EMOJI['comfortable']} ~{tok_s(decode[1])} tok/s · {m:g} GB · "
                   f"{spec.memory_bandwidth_gbps:g} GB/s")
        for _, m, _, spec, decode in found[:OTHER_HARDWARE_CHOICES])
    got = {m.placeholder.split(" (")[0]: m.choices for m in cold.menus}
    assert got.get("Try another quant", ()) == quants
    assert got.get("Try other hardware", ()) == hardware
