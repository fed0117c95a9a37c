"""Free text resolves the way people type it in chat."""

import time

import pytest

from catalog.resolve import get_resolver

R = get_resolver()


@pytest.mark.parametrize("text,expected", [
    ("llama 3.1 70b", "llama-3.1-70b"),
    ("llama3.1:70b", "llama-3.1-70b"),
    ("qwen3 30b a3b", "qwen3-30b-a3b"),
    ("gpt oss 120b", "gpt-oss-120b"),
    ("deepseek r1 distill 32b", "deepseek-r1-distill-qwen-32b"),
    ("Qwen/Qwen3-8B", "qwen3-8b"),
])
def test_model_lookup(text, expected):
    """Model names, Ollama tags and HF repos resolve to one entry."""
    m = R.models.resolve(text)
    assert m.found and m.entry.id == expected


@pytest.mark.parametrize("text,expected,count,mem", [
    ("3090", "rtx-3090", 1, 24),
    ("rtx3090", "rtx-3090", 1, 24),
    ("4090 24gb", "rtx-4090", 1, 24),
    ("2x 3090", "rtx-3090", 2, 24),
    ("3090 x2", "rtx-3090", 2, 24),
    ("m3 max 64gb", "m3-max-40c", 1, 64),
])
def test_hardware_setup(text, expected, count, mem):
    """Counts and memory options are read off the text."""
    s = R.setup(text)
    assert s.found
    d = s.devices[0]
    assert (d.spec.id, d.count, d.memory_gib) == (expected, count, mem)


def test_mixed_cards():
    """'4090 + 3090' is two devices, never one pool."""
    s = R.setup("4090 + 3090")
    assert [d.spec.id for d in s.devices] == ["rtx-4090", "rtx-3090"]


def test_ambiguous_returns_candidates():
    """'llama 70b' matches several models: ranked candidates, no guess."""
    m = R.models.resolve("llama 70b")
    assert not m.found and len(m.candidates) >= 2


def test_miss_suggests():
    """A typo gets did-you-mean suggestions."""
    m = R.models.resolve("lama 3.1 8bb instruct")
    assert not m.found and m.suggestions


@pytest.mark.parametrize(("kind", "text", "first"), [
    ("glossary", "kv cache please", "KV cache"),
    ("models", "llama 3.1 8b instruct gguf", "llama-3.1-8b"),
    ("hardware", "my 3090 card", "rtx-3090"),
])
def test_a_name_with_words_around_it_is_suggested_first(kind, text, first):
    """Extra words around a whole name: that name is the first suggestion (fuzzy scoring alone
    ranked 'KV cache' fifth for 'kv cache private')."""
    m = getattr(R, kind).resolve(text)
    assert not m.found and m.suggestions[0] == first


def test_long_tail_gpu():
    """A GPU no curated list has comes from the TechPowerUp database."""
    s = R.setup("quadro p6000")
    assert s.found and "P6000" in s.devices[0].spec.name
    assert s.devices[0].spec.fp16_tensor_tflops is None


def test_wrong_memory_option_is_explained():
    """'3090 48gb' is not a product: say which options exist."""
    s = R.setup("3090 48gb")
    assert not s.found and "24GB" in s.problem.suggestions[0]


def test_autocomplete_returns_25_fast():
    """Autocomplete gives up to 25 entries for a prefix, well under 2 ms on average."""
    assert len(R.hardware.complete("rtx", 25)) == 25
    start = time.perf_counter()
    for prefix in ("ll", "qwen", "rtx 40", "m4", "gem", "deeps"):
        R.models.complete(prefix)
        R.hardware.complete(prefix)
    assert (time.perf_counter() - start) / 12 < 0.02  # generous; the benchmark script measures p99
