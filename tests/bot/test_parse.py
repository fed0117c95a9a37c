"""The free-text option parser used by Slack and the console."""

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import build_registry
from bot.parse import ParseError, _words, parse_context, parse_options, split_visibility

REG = build_registry()


def test_willitrun_sentence():
    """Model, hardware, quant and context from one sentence."""
    o = parse_options(REG.get("willitrun"), "llama 3.3 70b on 2x 3090 q4_k_m 32k ctx")
    assert o == {"model": "llama 3.3 70b", "hardware": "2x 3090", "quant": "Q4_K_M", "ctx": 32768}


def test_willitrun_options():
    """Runtime, KV cache, flash attention and RAM words are recognised."""
    o = parse_options(REG.get("willitrun"), "qwen3 8b on rtx 4060 ollama kv q8_0 fa on 64gb ram")
    assert o["runtime"] == "ollama" and o["kv_cache"] == "q8_0" and o["flash_attn"] == "on" and o["ram"] == 64


def test_key_value_wins():
    """Explicit key=value pairs override the natural reading."""
    o = parse_options(REG.get("willitrun"), 'model="llama 3.1 8b" hardware=3090 ctx=8192')
    assert o == {"model": "llama 3.1 8b", "hardware": "3090", "ctx": 8192}


def test_compare_and_cost():
    """'A vs B' and '2M tokens/day' read as options."""
    assert parse_options(REG.get("compare"), "4090 vs m4 max 128gb") == {"a": "4090", "b": "m4 max 128gb"}
    o = parse_options(REG.get("costvscloud"), "2M tokens/day gpt-4o on 3090")
    assert o["tokens_per_day"] == 2_000_000 and o["api"] == "gpt-4o" and o["hardware"] == "3090"


@pytest.mark.parametrize(("text", "expected"), [
    ("llama 3.1 70b on 2x 3090 vs gpt-4.1", {"model": "llama 3.1 70b", "hardware": "2x 3090", "api": "gpt-4.1"}),
    ("2x 3090 versus sonnet 4.5", {"hardware": "2x 3090", "api": "sonnet 4.5"}),
    ("1M tokens/day qwen3 32b on 4090 against deepseek chat",
     {"tokens_per_day": 1_000_000, "model": "qwen3 32b", "hardware": "4090", "api": "deepseek chat"}),
])
def test_cost_against_an_api(text, expected):
    """'local vs API': the local model and hardware first, the API after vs / versus / against."""
    assert parse_options(REG.get("costvscloud"), text) == expected


@pytest.mark.parametrize("text,value", [("32k", 32768), ("8192", 8192), ("128K", 131072)])
def test_context_units(text, value):
    """Contexts count k as 1,024."""
    assert parse_context(text) == value


def test_oversized_input_rejected():
    """More than 100 KB of text is refused with a clear message."""
    with pytest.raises(ParseError, match="limit"):
        parse_options(REG.get("define"), "x" * 100_001)


@given(st.text(alphabet=st.sampled_from(list("ab3=-_.:/ \t\r\n\x0b\u00a0é")), max_size=40))
def test_words_without_quoting_are_shlex_words(text: str) -> None:
    """The fast split gives exactly shlex's words (shlex's whitespace only: a non-breaking space
    or vertical tab stays inside a word, as in shlex)."""
    assert _words(text) == shlex.split(text)


@pytest.mark.parametrize(("text", "words"), [
    ('term="kv cache" more=yes', ["term=kv cache", "more=yes"]),
    ("it's open", ["it's", "open"]),           # an open quote: plain split, nothing lost
    ('a\\ b c', ["a b", "c"]),                # an escape: shlex decides
])
def test_words_with_quoting_follow_shlex(text: str, words: list[str]) -> None:
    assert _words(text) == words


@pytest.mark.parametrize(("text", "rest", "requested", "problem"), [
    ("kv cache", "kv cache", None, False),
    ("kv cache private", "kv cache", True, False),
    ("kv cache PUBLIC", "kv cache", False, False),
    ("--private", "", True, False),
    ("ephemeral=yes kv cache", "kv cache", True, False),
    ("kv cache ephemeral=off", "kv cache", False, False),
    ("ephemeral=yes public", "public", True, False),   # the explicit option wins; 'public' stays text
    ("private key error here", "private key error here", None, False),
    ("kv ephemeral=maybe", "kv ephemeral=maybe", None, True),
])
def test_split_visibility(text: str, rest: str, requested: bool | None, problem: bool) -> None:
    """Visibility words are taken out of the text; everything else is left for the core's parser."""
    got_rest, got_requested, got_problem = split_visibility(text)
    assert (got_rest, got_requested, got_problem is not None) == (rest, requested, problem)
