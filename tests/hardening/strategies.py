"""Hostile input for property tests: arbitrary unicode, mention and markup tricks, odd numbers."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bot.registry import Command, Option

INJECTIONS = (
    "@everyone", "@here", "<@123456789012345678>", "<@!123456789012345678>", "<@&123456789012345678>",
    "<#123456789012345678>", "<!channel>", "<!here>", "<!everyone>", "<@U123>", "<#C123|general>",
    "<!subteam^S123>", "[x](https://evil.example)", "[click](<https://evil.example>)",
    "<https://evil.example|click me>", "a|b", "```", "`", "**", "~~", "||spoiler||", "> quote",
    "\u202e", "\u200b", "\x00", "\r\n", "&amp;", "&lt;", "%00", "{{kv_cache model=x}}", "$", "--ctx",
)
WORDS = ("llama 3.1 8b", "qwen3", "rtx 4090", "2x 3090", "m4 max 128gb", "on", "vs", "q4_k_m", "32k", "ctx",
         "ollama", "kv", "q8", "fa", "off", "np", "ram", "cuda", "$1500", "used", "1e308", "-1", "0",
         "99999999999999999999999", "nan", "inf", "k", "m", "b", "=", "model=", "ctx=-5", "--quant")


def numbers_as_text() -> st.SearchStrategy[str]:
    return st.one_of(st.integers(min_value=-(10**40), max_value=10**40).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.integers(min_value=0, max_value=10**6).map(lambda n: f"{n}k"))


def hostile_text(max_words: int = 12) -> st.SearchStrategy[str]:
    """Free text a hostile or careless user might type."""
    token = st.one_of(st.sampled_from(INJECTIONS), st.sampled_from(WORDS), numbers_as_text(),
                      st.text(max_size=24))
    return st.one_of(st.text(max_size=300), st.lists(token, max_size=max_words).map(" ".join),
                     st.sampled_from(("", " ", "\n\n", "\x00" * 5)))


def option_value(option: Option) -> st.SearchStrategy[Any]:
    """Any value a platform (or a forged payload) could deliver for this option."""
    anything = st.one_of(hostile_text(6), st.none(), st.booleans())
    if option.type == "int":
        typed: st.SearchStrategy[Any] = st.one_of(
            st.integers(min_value=-(2**63), max_value=2**63), st.integers(min_value=-(10**100), max_value=10**100),
            st.integers(min_value=-5, max_value=300_000))
    elif option.type == "float":
        typed = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=-1e6, max_value=1e6))
    elif option.type == "bool":
        typed = st.booleans()
    elif option.choices:
        typed = st.sampled_from(option.choices)
    else:
        typed = hostile_text()
    return st.one_of(typed, typed, anything)


def options_for(command: Command) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the command's options (plus an unknown one), each with any value."""
    return st.fixed_dictionaries({}, optional={
        **{o.name: option_value(o) for o in command.options}, "unknown_option": hostile_text(3)})
