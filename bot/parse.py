"""One option parser for free text (Slack slash commands and the console).

``/willitrun llama 3.3 70b on 2x 3090 q4_k_m 32k ctx`` and ``/compare 4090 vs m4 max 128gb``
become the same typed options a Discord slash command delivers. ``key=value`` and
``--key value`` always work; each command may add a natural-language reading of the rest.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from catalog.resolve import get_resolver

from .bench_parse import parse_bench_text, parse_review_text
from .registry import Command

MAX_TEXT = 100_000
# Names, numbers and one-line questions: far longer text is a paste in the wrong place, and the
# natural-language readers below try split points and regexes whose cost grows with length.
MAX_OPTION_TEXT = 6_000   # Discord's own limit on a string option
LONG_TEXT_OPTIONS = frozenset({"text", "paste"})   # pasted logs and benchmark output
LONG_TEXT_PARSERS = frozenset({"bench", "bench-review"})
MAX_SPLIT_WORDS = 40


_TRUE = {"yes", "true", "on", "1", "y"}
_FALSE = {"no", "false", "off", "0", "n"}
_EPHEMERAL_KV_RE = re.compile(r"(?<!\S)(?:--)?ephemeral=(\S*)(?!\S)", re.I)
_TRAILING_WORD_RE = re.compile(r"(?:^|\s+)(?:--)?(public|private)\s*$", re.I)


def split_visibility(text: str) -> tuple[str, bool | None, str | None]:
    """Take the visibility words out of command text (Slack decides who sees the answer by
    them; the console and the command line, where only the operator reads, drop them).

    ``ephemeral=yes|no`` anywhere, or a trailing ``public``/``private`` word.
    Returns (the rest of the text, True for ephemeral / False for in channel / None when not
    asked, a problem message or None).
    """
    requested: bool | None = None
    m = _EPHEMERAL_KV_RE.search(text)
    if m:
        value = m.group(1).lower()
        if value not in _TRUE | _FALSE:
            return text, None, f"ephemeral takes yes or no, not {m.group(1)!r}"
        requested = value in _TRUE
        text = (text[: m.start()] + " " + text[m.end():]).strip()
    m = _TRAILING_WORD_RE.search(text)
    if m and requested is None:
        requested = m.group(1).lower() == "private"
        text = text[: m.start()].strip()
    return text.strip(), requested, None


def check_length(command_name: str, option_name: str | None, text: str) -> None:
    """ParseError when ``text`` is too long for this option (pastes may be up to MAX_TEXT)."""
    limit = MAX_TEXT if option_name in LONG_TEXT_OPTIONS else MAX_OPTION_TEXT
    if len(text) > limit:
        what = f"{option_name} of /{command_name}" if option_name else f"/{command_name}"
        raise ParseError(f"that is {len(text):,} characters; {what} takes at most {limit:,}")


class ParseError(ValueError):
    """The text could not be read as options; the message says what would work."""


def _number(text: str) -> float:
    """'32k' -> 32768? No: k is 1,024 for contexts only; here '2.5m' -> 2,500,000."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmb]?)\s*", text.lower())
    if not m:
        raise ParseError(f"{text!r} is not a number")
    mult = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[m.group(2)]
    return float(m.group(1)) * mult


def parse_context(text: str) -> int:
    """'32k' -> 32768, '8192' -> 8192, '128K' -> 131072 (contexts count k as 1,024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(k?)\s*", text.lower())
    if not m:
        raise ParseError(f"context {text!r} is not a token count (try 8192 or 32k)")
    value = float(m.group(1)) * (1024 if m.group(2) else 1)
    return int(value)


def _coerce(command: Command, name: str, value: str) -> Any:
    opt = command.option(name)
    if opt is None:
        known = ", ".join(o.name for o in command.options) or "none"
        raise ParseError(f"/{command.name} has no option {name!r} (options: {known})")
    try:
        if opt.type == "int":
            return parse_context(value) if name in ("ctx", "prompt") else int(_number(value))
        if opt.type == "float":
            return _number(value.replace("$", "").replace(",", ""))
        if opt.type == "bool":
            low = value.lower()
            if low in ("1", "true", "yes", "on", "y"):
                return True
            if low in ("0", "false", "no", "off", "n"):
                return False
            raise ParseError(f"{name} takes on/off, not {value!r}")
    except ParseError:
        raise
    except (ValueError, OverflowError) as exc:
        raise ParseError(f"{name}: {value!r} is not a valid {opt.type}") from exc
    if opt.choices and value.lower() not in opt.choices:
        raise ParseError(f"{name} must be one of {', '.join(opt.choices)}, not {value!r}")
    return value


def coerce_option(command: Command, name: str, value: str) -> Any:
    """One option's text -> its declared type (int, float, bool, a choice); raises ParseError."""
    return _coerce(command, name, value)


_KV_RE = re.compile(r"(?:\bkv(?:[ _-]?cache)?|\bcache|-ctk)\s*[=:]?\s*(f16|q8_0|q8|q4_0|q4|fp8)\b|\b(f16|q8_0|q8|q4_0|q4|fp8)\s+(?:kv|cache)\b", re.IGNORECASE)
_CTX_RE = re.compile(r"\b(?:ctx|context|num_ctx|-c)\s*[=:]?\s*(\d+(?:\.\d+)?\s*k?)\b|\b(\d+(?:\.\d+)?\s*k)\b(?:\s*(?:ctx|context|tokens))?|\b(\d{3,7})\s*(?:ctx|context|tokens)\b", re.IGNORECASE)
_FA_RE = re.compile(r"\b(?:fa|flash[ _-]?attn|flash[ _-]?attention)\s*[=:]?\s*(on|off)\b|\b(no)[ -]?(?:fa|flash[ _-]?attention)\b", re.IGNORECASE)
_NP_RE = re.compile(r"\b(?:np|parallel|slots?)\s*[=:]?\s*(\d{1,3})\b|\b(\d{1,3})\s+(?:slots|parallel)\b", re.IGNORECASE)
_RAM_RE = re.compile(r"\b(\d{1,4})\s*gb?\s+(?:of\s+)?(?:system\s+)?ram\b|\bram\s*[=:]?\s*(\d{1,4})\s*(?:gb?)?\b", re.IGNORECASE)
_BACKEND_RE = re.compile(r"\b(cuda|rocm|metal|vulkan|sycl)\b", re.IGNORECASE)
_SPLIT_ON_RE = re.compile(r"\s+(?:on|with|using|@)\s+|\s*\|\s*", re.IGNORECASE)
_VERSUS_RE = re.compile(r"\s+(?:vs\.?|versus|against)\s+", re.IGNORECASE)


def _strip(text: str, span: tuple[int, int]) -> str:
    return (text[: span[0]] + " " + text[span[1]:]).strip()


def parse_willitrun(text: str) -> dict[str, Any]:
    if len(text) > MAX_OPTION_TEXT:   # also reached from /bench text that is not tool output
        raise ParseError(f"that is {len(text):,} characters; a model-and-hardware question takes at most "
                         f"{MAX_OPTION_TEXT:,} (paste benchmark output as it is)")
    out: dict[str, Any] = {}
    r = get_resolver()
    m = _KV_RE.search(text)
    if m:
        kv = (m.group(1) or m.group(2)).lower()
        out["kv_cache"] = {"q8": "q8_0", "q4": "q4_0"}.get(kv, kv)
        text = _strip(text, m.span())
    m = _FA_RE.search(text)
    if m:
        out["flash_attn"] = "off" if m.group(2) else m.group(1).lower()
        text = _strip(text, m.span())
    m = _NP_RE.search(text)
    if m:
        out["parallel"] = int(m.group(1) or m.group(2))
        text = _strip(text, m.span())
    m = _RAM_RE.search(text)
    if m:
        out["ram"] = float(m.group(1) or m.group(2))
        text = _strip(text, m.span())
    m = _CTX_RE.search(text)
    if m:
        out["ctx"] = parse_context(next(g for g in m.groups() if g))
        text = _strip(text, m.span())
    m = _BACKEND_RE.search(text)
    if m:
        out["backend"] = m.group(1).lower()
        text = _strip(text, m.span())
    # Runtimes by name (multi-word names first), then quant words.
    for rt in sorted(r.catalog.runtimes.values(), key=lambda x: -len(x.name)):
        for name in sorted({rt.id, rt.name, *rt.aliases}, key=len, reverse=True):
            mm = re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
            if mm:
                out["runtime"] = rt.id
                text = _strip(text, mm.span())
                break
        if "runtime" in out:
            break
    words = text.split()
    kept = []
    for w in words:
        q = r.quants.exact(w)
        if q is not None and "quant" not in out:
            out["quant"] = q.id
        else:
            kept.append(w)
    text = " ".join(kept)
    pair = _split_on(text)
    if pair is not None:
        out["model"], out["hardware"] = pair
    else:
        out.update(_split_model_hardware(text))
    return {k: v for k, v in out.items() if v not in ("", None)}


def _split_on(text: str) -> tuple[str, str] | None:
    """'<left> on <right>' (or with / using / @ / |) -> (left, right); None without one."""
    parts = _SPLIT_ON_RE.split(text, maxsplit=1)
    return (parts[0].strip(), parts[1].strip()) if len(parts) == 2 else None


def _split_model_hardware(text: str) -> dict[str, str]:
    """No 'on': try every split point, preferring one where both halves resolve."""
    r = get_resolver()
    words = text.split()
    if len(words) > MAX_SPLIT_WORDS:   # each split point costs two lookups; real questions are short
        return {"model": text}
    for i in range(len(words) - 1, 0, -1):
        left, right = " ".join(words[:i]), " ".join(words[i:])
        if r.models.resolve(left).found and r.setup(right).found:
            return {"model": left, "hardware": right}
    return {"model": text}


def parse_compare(text: str) -> dict[str, Any]:
    parts = re.split(r"\s+(?:vs\.?|versus|or|against)\s+|\s*,\s*", text.strip(), maxsplit=1, flags=re.IGNORECASE)
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ParseError("compare two things: `/compare 4090 vs m4 max 128gb`")
    return {"a": parts[0].strip(), "b": parts[1].strip()}


def parse_costvscloud(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    m = re.search(r"(?<![\d.])(\d+(?:\.\d+)?\s*[kmb]?)\s*(?:tokens?|tok)?\s*(?:/|per|a)\s*day", text, re.IGNORECASE)
    if m:
        out["tokens_per_day"] = _number(m.group(1))
        text = _strip(text, m.span())
    m = re.search(r"\$?\s*(?<![\d.])(\d+(?:\.\d+)?)\s*(?:\$|usd)?\s*(?:/|per)\s*kwh", text, re.IGNORECASE)
    if m:
        out["kwh_price"] = float(m.group(1))
        text = _strip(text, m.span())
    m = re.search(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:h|hours?)\s*(?:/|per|a)\s*day", text, re.IGNORECASE)
    if m:
        out["hours_per_day"] = float(m.group(1))
        text = _strip(text, m.span())
    versus = _VERSUS_RE.split(text, maxsplit=1)
    if len(versus) == 2:   # "llama 3.1 70b on 2x 3090 vs gpt-4.1": the local side first
        local, out["api"] = versus[0].strip(), versus[1].strip()
        out["model"], out["hardware"] = _split_on(local) or (None, local)
    else:
        out["api"], out["hardware"] = _split_on(text) or (text.strip(), None)
    return {k: v for k, v in out.items() if v not in ("", None)}


def parse_bestgpu(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    m = re.search(r"(?:\$\s*(\d[\d,]*)|(?<![\d,])(\d[\d,]*)\s*(?:\$|usd|dollars)|(?:budget|under|below|max)\s*\$?\s*(\d[\d,]*))", text, re.IGNORECASE)
    if m:
        out["budget"] = float(next(g for g in m.groups() if g).replace(",", ""))
        text = _strip(text, m.span())
    m = re.search(r"\b(new|used)\b", text, re.IGNORECASE)
    if m:
        out["condition"] = m.group(1).lower()
        text = _strip(text, m.span())
    m = re.search(r"\b(nvidia|amd|apple|intel|mac)\b", text, re.IGNORECASE)
    if m:
        out["platform"] = {"mac": "apple"}.get(m.group(1).lower(), m.group(1).lower())
        text = _strip(text, m.span())
    m = _CTX_RE.search(text)
    if m:
        out["ctx"] = parse_context(next(g for g in m.groups() if g))
        text = _strip(text, m.span())
    text = re.sub(r"^\s*(?:for|to run|run)\s+", "", text.strip(), flags=re.IGNORECASE)
    if text:
        out["model"] = text
    return out


NATURAL: dict[str, Callable[[str], dict[str, Any]]] = {
    "willitrun": parse_willitrun,
    "compare": parse_compare,
    "costvscloud": parse_costvscloud,
    "bestgpu": parse_bestgpu,
    "bench": parse_bench_text,
    "bench-review": parse_review_text,
}


_SHELL_QUOTING = re.compile(r"[\"'\\]")
_SHELL_WHITESPACE = re.compile(r"[ \t\r\n]+")   # shlex's whitespace


def _words(text: str) -> list[str]:
    """The words of ``text`` as shlex splits them (quoted values allowed); plain whitespace
    splitting when a quote is left open. Text with nothing to unquote or unescape, the usual
    case, is split on shlex's whitespace directly: the same words, without shlex's ~10-30 µs."""
    if not _SHELL_QUOTING.search(text):
        return [w for w in _SHELL_WHITESPACE.split(text) if w]
    if text.count('"') % 2 or text.count("'") % 2:
        return text.split()
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def parse_options(command: Command, text: str) -> dict[str, Any]:
    """Free text -> typed options for ``command``; raises ParseError with a helpful message."""
    if len(text) > MAX_TEXT:
        raise ParseError(f"that is {len(text):,} characters; the limit is {MAX_TEXT:,}")
    text = text.replace("\x00", " ").strip()
    explicit: dict[str, Any] = {}
    # key=value and --key value, for known option names only (quoted values allowed).
    names = {o.name for o in command.options}
    rest: list[str] = []
    words = _words(text)
    i = 0
    while i < len(words):
        w = words[i]
        key, sep, value = w.partition("=")
        k = key.lstrip("-").replace("-", "_")
        if sep and k in names and not key.startswith("-c"):
            check_length(command.name, k, value)
            explicit[k] = _coerce(command, k, value)
        elif w.startswith("--") and k in names and i + 1 < len(words):
            check_length(command.name, k, words[i + 1])
            explicit[k] = _coerce(command, k, words[i + 1])
            i += 1
        else:
            rest.append(w)
        i += 1
    remaining = " ".join(rest) if command.name not in ("troubleshoot",) else (
        text if not explicit else " ".join(rest))
    natural: dict[str, Any] = {}
    if remaining:
        parser = NATURAL.get(command.name)
        if parser is not None:
            if command.name not in LONG_TEXT_PARSERS:
                check_length(command.name, None, remaining)
            natural = parser(remaining)
        else:
            first = next((o for o in command.options if o.type == "str"), None)
            if first is None:
                raise ParseError(f"/{command.name} takes no text")
            check_length(command.name, first.name, remaining)
            natural = {first.name: remaining}
    merged = {**natural, **explicit}
    for name, value in list(merged.items()):
        if isinstance(value, str) and name in names:
            merged[name] = _coerce(command, name, value) if command.option(name).type != "str" else value  # type: ignore[union-attr]
    return merged
