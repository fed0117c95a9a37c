"""Read benchmark numbers out of pasted tool output: llama-bench, ``ollama run --verbose``,
llama-cli / llama-server timings and vLLM's serving benchmark.

Every parser works on the text as pasted and on the same text with its newlines collapsed to
spaces (Discord slash-command options are single-line). Parsers only read: they return the
raw strings they found (a GPU name, a model name) and leave resolving them to catalog ids, and
judging the numbers, to the submission checks. What could not be read is left out, never
guessed; ``notes`` says what was chosen when the output held several candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FIELDS = ("model", "quant", "hardware", "count", "runtime", "runtime_version", "backend", "context",
          "prompt_tok_s", "gen_tok_s")


@dataclass
class ParsedBench:
    """What a paste said. ``fields`` uses the submission's names; absent keys were not found."""

    format: str                       # llama-bench | ollama | llama.cpp | vllm
    fields: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def set(self, name: str, value: Any) -> None:
        if value not in (None, ""):
            self.fields[name] = value


_NUM = r"(\d+(?:\.\d+)?)"

# llama.cpp's file-type names (llama_model_ftype_name) -> quant preset ids.
FTYPE_NAMES: dict[str, str] = {
    "f16": "F16", "bf16": "BF16", "all f32": "F32", "q4_0": "Q4_0", "q4_1": "Q4_1", "q5_0": "Q5_0",
    "q5_1": "Q5_1", "q8_0": "Q8_0", "q6_k": "Q6_K",
    "q2_k - medium": "Q2_K", "q2_k - small": "Q2_K_S", "q3_k - small": "Q3_K_S", "q3_k - medium": "Q3_K_M",
    "q3_k - large": "Q3_K_L", "q4_k - small": "Q4_K_S", "q4_k - medium": "Q4_K_M", "q5_k - small": "Q5_K_S",
    "q5_k - medium": "Q5_K_M",
    "iq2_xxs - 2.0625 bpw": "IQ2_XXS", "iq2_xs - 2.3125 bpw": "IQ2_XS", "iq2_s - 2.5 bpw": "IQ2_S",
    "iq2_m - 2.7 bpw": "IQ2_M", "iq3_xxs - 3.0625 bpw": "IQ3_XXS", "iq3_xs - 3.3 bpw": "IQ3_XS",
    "iq3_s - 3.4375 bpw": "IQ3_S", "iq3_s mix - 3.66 bpw": "IQ3_M", "iq1_s - 1.5625 bpw": "IQ1_S",
    "iq1_m - 1.75 bpw": "IQ1_M", "iq4_nl - 4.5 bpw": "IQ4_NL", "iq4_xs - 4.25 bpw": "IQ4_XS",
    "mxfp4 moe": "MXFP4_MOE",
}
_FTYPE_RE = re.compile(
    r"(?:all F32|MXFP4 MoE|IQ\d_\w+(?: mix)? - [\d.]+ bpw|Q\d_K - (?:Small|Medium|Large)|[BF]F?16|F16|Q\d_[01K])",
    re.I)

_BACKENDS = (("cuda", "cuda"), ("rocm", "rocm"), ("hip", "rocm"), ("vulkan", "vulkan"), ("sycl", "sycl"),
             ("metal", "metal"), ("mtl", "metal"), ("cpu", "cpu"), ("blas", "cpu"))


def quant_from_ftype(text: str) -> str | None:
    """'Q4_K - Medium' -> 'Q4_K_M', 'IQ4_XS - 4.25 bpw' -> 'IQ4_XS'; None when it isn't one."""
    key = re.sub(r"\s+", " ", text.strip()).lower()
    return FTYPE_NAMES.get(key)


def backend_from(text: str) -> str | None:
    """llama-bench's backend column ('CUDA', 'BLAS,MTL', 'Vulkan') -> a backend id (GPU first)."""
    parts = [p.strip().lower() for p in re.split(r"[,+/ ]", text) if p.strip()]
    for name, backend in _BACKENDS:
        if name in parts and backend != "cpu":
            return backend
    return "cpu" if any(p in ("cpu", "blas") for p in parts) else None


def _clean_gpu_name(name: str) -> str:
    name = re.sub(r"\((?:R|TM)\)", "", name, flags=re.I)
    name = re.sub(r"^\s*NVIDIA\s+(?:GeForce\s+)?", "", name, flags=re.I)
    return re.sub(r"\s+", " ", name).strip(" ,")


def devices(text: str) -> list[str]:
    """GPU names llama.cpp printed at start-up (CUDA/ROCm, Vulkan, Metal), one per device."""
    names: list[str] = []
    for m in re.finditer(r"Device \d+: (.+?)(?:, (?:compute capability|gfx\w+)|, VMM|\n|$)", text):
        names.append(_clean_gpu_name(m.group(1)))
    if not names:
        for m in re.finditer(r"ggml_vulkan: \d+ = (.+?) \(", text):
            names.append(_clean_gpu_name(m.group(1)))
    if not names:
        m = re.search(r"GPU name:\s+(Apple M\d+(?: (?:Pro|Max|Ultra))?)", text)
        if m:
            names.append(m.group(1))
    if not names:
        for m in re.finditer(r"using device \w+ \((.+?)\)", text):
            names.append(_clean_gpu_name(m.group(1)))
    return names


def _hardware(parsed: ParsedBench, text: str) -> None:
    names = devices(text)
    if not names:
        return
    distinct = list(dict.fromkeys(names))
    if len(distinct) == 1:
        parsed.set("hardware", distinct[0])
        parsed.set("count", len(names))
    else:
        parsed.set("hardware", " + ".join(f"{names.count(n)}x {n}" if names.count(n) > 1 else n for n in distinct))
        parsed.set("count", len(names))


def _llamacpp_build(text: str) -> str | None:
    """llama.cpp release tags are b<build number>: 'build: d48a56eff (9430)' / 'build: 4567 (abc1234)'."""
    m = re.search(r"build:\s*([0-9a-f]{6,})\s*\((\d+)\)", text) or None
    if m:
        return f"b{m.group(2)}"
    m = re.search(r"build:\s*(\d+)\s*\(([0-9a-f]{6,})\)", text)
    return f"b{m.group(1)}" if m else None


# ---------------------------------------------------------------------------------------------
# llama-bench (markdown table)
# ---------------------------------------------------------------------------------------------

_SEPARATOR = re.compile(r"^:?-+:?$")
_TEST = re.compile(r"^(pp|tg)(\d+)(?:\s*@\s*d(\d+))?$")


def _table(text: str) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows of the first markdown table whose first column is 'model'.

    Cells are read by splitting on '|', so it works with the newlines collapsed too: rows are
    separated by an empty cell ('|\\n|' or '| |'); llama-bench never prints an empty cell.
    """
    start = re.search(r"\|\s*model\s*\|", text)
    if not start:
        return None
    cells = [c.strip() for c in text[start.start():].split("|")][1:]
    n = cells.index("") if "" in cells else -1
    if n < 2:
        return None
    header = [c.lower() for c in cells[:n]]
    i = n + 1
    if cells[i:i + n] and all(_SEPARATOR.match(c) for c in cells[i:i + n]):
        i += n + 1
    rows = []
    while i + n <= len(cells):
        row = cells[i:i + n]
        if any(c == "" for c in row) or row[0].lower() == "model":
            break
        rows.append(row)
        i += n
        if i < len(cells) and cells[i] != "":
            break
        i += 1
    return header, rows


def _speed(cell: str) -> float | None:
    m = re.match(_NUM, cell.replace(",", ""))
    return float(m.group(1)) if m else None


def parse_llama_bench(text: str) -> ParsedBench | None:
    table = _table(text)
    if table is None:
        return None
    header, rows = table
    if "test" not in header or "t/s" not in header or not rows:
        return None
    col = {name: header.index(name) for name in header}
    parsed = ParsedBench("llama-bench")
    parsed.set("runtime", "llama.cpp")
    models = list(dict.fromkeys(r[col["model"]] for r in rows))
    model_cell = models[0]
    if len(models) > 1:
        parsed.notes.append(f"the table has {len(models)} models; read the first ({model_cell})")
    rows = [r for r in rows if r[col["model"]] == model_cell]
    if "ngl" in col and len({r[col["ngl"]] for r in rows}) > 1:
        best = max((r[col["ngl"]] for r in rows), key=lambda v: int(v) if v.lstrip("-").isdigit() else -2)
        parsed.notes.append(f"several -ngl values; read ngl {best}")
        rows = [r for r in rows if r[col["ngl"]] == best]
    ft = _FTYPE_RE.search(model_cell)
    if ft:
        parsed.set("quant", quant_from_ftype(ft.group(0)))
        arch_size = model_cell[: ft.start()].strip()
    else:
        arch_size = model_cell
    if arch_size:
        parsed.notes.append(f"llama-bench names only the architecture and size ('{arch_size}'), not the model")
    if "backend" in col:
        parsed.set("backend", backend_from(rows[0][col["backend"]]))
        if "ngl" in col and rows[0][col["ngl"]] == "0":
            parsed.set("backend", "cpu")
    tests: dict[str, list[tuple[int, int, float]]] = {"pp": [], "tg": []}
    for r in rows:
        m = _TEST.match(r[col["test"]].replace(" ", "").replace("@d", " @ d"))
        speed = _speed(r[col["t/s"]])
        if m and speed:
            tests[m.group(1)].append((int(m.group(3) or 0), int(m.group(2)), speed))
    context = 0
    for kind, name in (("pp", "prompt_tok_s"), ("tg", "gen_tok_s")):
        if not tests[kind]:
            continue
        depth, n, speed = min(tests[kind], key=lambda t: (t[0], t[1]))  # empty context first
        parsed.set(name, speed)
        context = max(context, depth + n)
        label = f"{kind}{n}" + (f" @ d{depth}" if depth else "")
        if len(tests[kind]) > 1:
            parsed.notes.append(f"{len(tests[kind])} {kind} tests; read {label}")
    if context:
        parsed.set("context", context)
    parsed.set("runtime_version", _llamacpp_build(text))
    _hardware(parsed, text)
    return parsed if "gen_tok_s" in parsed.fields or "prompt_tok_s" in parsed.fields else None


# ---------------------------------------------------------------------------------------------
# llama-cli / llama-server timings
# ---------------------------------------------------------------------------------------------

_TIMING = (r"=\s*" + _NUM + r"\s*ms\s*/\s*(\d+)\s*(?:tokens|runs)\s*\(\s*" + _NUM
           + r"\s*ms per token,\s*" + _NUM + r"\s*tokens per second\s*\)")
_PROMPT_TIMING = re.compile(r"prompt eval time\s*" + _TIMING)
_EVAL_TIMING = re.compile(r"(?<!prompt )(?<![\w])eval time\s*" + _TIMING)
_GENERAL_NAME = re.compile(r"general\.name\s+(?:str\s+)?=\s+(.+?)(?=\s+[\w.]+:|\s{2,}|\n|$)")


def parse_llamacpp_timings(text: str) -> ParsedBench | None:
    evals = list(_EVAL_TIMING.finditer(text))
    if not evals:
        return None
    parsed = ParsedBench("llama.cpp")
    parsed.set("runtime", "llama.cpp")
    last = evals[-1]
    if len(evals) > 1:
        parsed.notes.append(f"{len(evals)} timing blocks; read the last one")
    parsed.set("gen_tok_s", float(last.group(4)))
    generated = int(last.group(2))
    prompts = [m for m in _PROMPT_TIMING.finditer(text) if m.start() < last.start()]
    prompt_tokens = 0
    if prompts:
        parsed.set("prompt_tok_s", float(prompts[-1].group(4)))
        prompt_tokens = int(prompts[-1].group(2))
    m = re.search(r"\bn_ctx\s*=\s*(\d+)", text)
    if m:
        parsed.set("context", int(m.group(1)))
    elif prompt_tokens + generated:
        parsed.set("context", prompt_tokens + generated)
        parsed.notes.append(f"no n_ctx in the log: context is the tokens used ({prompt_tokens} prompt + "
                            f"{generated} generated)")
    m = re.search(r"(?:file type|model ftype|ftype)\s*=\s*(" + _FTYPE_RE.pattern + ")", text, re.I)
    if m:
        parsed.set("quant", quant_from_ftype(m.group(1)))
    m = _GENERAL_NAME.search(text)
    if m:
        parsed.set("model", m.group(1).strip())
    parsed.set("runtime_version", _llamacpp_build(text))
    _hardware(parsed, text)
    names = devices(text)
    if names:
        parsed.set("backend", "cuda" if re.search(r"CUDA|ggml_cuda", text) and "ROCm" not in text
                   else "rocm" if "ROCm" in text else "vulkan" if "ggml_vulkan" in text
                   else "metal" if "Apple M" in names[0] else None)
    return parsed


# ---------------------------------------------------------------------------------------------
# ollama run --verbose
# ---------------------------------------------------------------------------------------------


def parse_ollama(text: str) -> ParsedBench | None:
    gen = re.search(r"(?<!prompt )(?<![\w])eval rate:\s*" + _NUM + r"\s*tokens/s", text)
    if not gen:
        return None
    parsed = ParsedBench("ollama")
    parsed.set("runtime", "ollama")
    parsed.set("gen_tok_s", float(gen.group(1)))
    m = re.search(r"prompt eval rate:\s*" + _NUM + r"\s*tokens/s", text)
    if m:
        parsed.set("prompt_tok_s", float(m.group(1)))
    prompt = re.search(r"prompt eval count:\s*(\d+)", text)
    generated = re.search(r"(?<!prompt )(?<![\w])eval count:\s*(\d+)", text)
    used = (int(prompt.group(1)) if prompt else 0) + (int(generated.group(1)) if generated else 0)
    if used:
        parsed.set("context", used)
        parsed.notes.append(f"context is the tokens this run used ({used}); add ctx= for your num_ctx")
    m = re.search(r"ollama run\s+([\w.:/-]+)", text)
    if m:
        parsed.set("model", m.group(1))
    m = re.search(r"quantization\s+(\w+)", text)
    if m:
        parsed.set("quant", m.group(1).upper())
    m = re.search(r"ollama version (?:is )?v?(\d+\.\d+\.\d+)", text)
    if m:
        parsed.set("runtime_version", m.group(1))
    return parsed


# ---------------------------------------------------------------------------------------------
# vLLM benchmark_serving / vllm bench serve
# ---------------------------------------------------------------------------------------------


def _vllm_metric(text: str, label: str) -> float | None:
    m = re.search(re.escape(label) + r"\s*" + _NUM, text)
    return float(m.group(1)) if m else None


def parse_vllm(text: str) -> ParsedBench | None:
    if "Serving Benchmark Result" not in text and "Output token throughput" not in text:
        return None
    tpot = _vllm_metric(text, "Mean TPOT (ms):")
    parsed = ParsedBench("vllm")
    parsed.set("runtime", "vllm")
    if tpot:
        # Per-request decode speed; bounded by memory bandwidth like a single stream.
        parsed.set("gen_tok_s", round(1000.0 / tpot, 2))
    else:
        parsed.notes.append("no 'Mean TPOT' line: per-request generation speed unknown")
    requests = _vllm_metric(text, "Successful requests:")
    concurrency = _vllm_metric(text, "Maximum request concurrency:")
    throughput = _vllm_metric(text, "Output token throughput (tok/s):")
    if throughput:
        parsed.notes.append(f"aggregate output {throughput:,.1f} tok/s across "
                            f"{'up to ' + str(int(concurrency)) if concurrency else 'all'} concurrent requests "
                            "(not stored: generation tok/s is per request, 1000 / mean TPOT)")
    total_in = _vllm_metric(text, "Total input tokens:")
    total_out = _vllm_metric(text, "Total generated tokens:")
    if requests and total_in is not None and total_out is not None:
        parsed.set("context", round((total_in + total_out) / requests))
        parsed.notes.append("context is the mean request length (input + output tokens)")
    ttft = _vllm_metric(text, "Mean TTFT (ms):")
    if concurrency == 1 and requests and total_in and ttft:
        parsed.set("prompt_tok_s", round(total_in / requests / (ttft / 1000.0), 1))
        parsed.notes.append("prompt tok/s from mean input length / mean TTFT (concurrency 1)")
    m = re.search(r"(?:--model[= ]+|model=')([\w./-]+)", text)
    if m:
        parsed.set("model", m.group(1))
    m = re.search(r"vLLM(?: API server)? version:?\s*v?(\d+\.\d+(?:\.\d+)?[\w.+-]*)", text)
    if m:
        parsed.set("runtime_version", m.group(1))
    return parsed if parsed.fields.get("gen_tok_s") else None


PARSERS = (parse_llama_bench, parse_vllm, parse_llamacpp_timings, parse_ollama)

_MARKERS = re.compile(r"\|\s*model\s*\|.*\bt/s\b|eval rate:|eval time\s*=|Serving Benchmark Result|"
                      r"Output token throughput", re.I | re.S)


def looks_like_output(text: str) -> bool:
    """True when ``text`` holds output of one of the supported tools (not typed fields)."""
    return bool(_MARKERS.search(text))


def parse_bench_output(text: str) -> ParsedBench | None:
    """The first parser that recognises the paste, or None."""
    text = text.replace("\r\n", "\n").replace("\x00", " ")
    for parser in PARSERS:
        parsed = parser(text)
        if parsed is not None:
            return parsed
    return None


# ---------------------------------------------------------------------------------------------
# Free text of /bench and /bench-review (Slack, console): the action word first
# ---------------------------------------------------------------------------------------------

BENCH_ACTIONS = ("list", "submit", "confirm", "mine")
REVIEW_ACTIONS = ("list", "approve", "reject")
_GEN_RE = re.compile(r"\b(?:gen(?:eration)?|tg|decode)\s*[=:]?\s*" + _NUM + r"(?:\s*(?:tok(?:ens)?/s|t/s))?", re.I)
_PP_RE = re.compile(r"\b(?:prompt|pp|prefill)\s*[=:]?\s*" + _NUM + r"(?:\s*(?:tok(?:ens)?/s|t/s))?", re.I)
_SPEED_RE = re.compile(_NUM + r"\s*(?:tok(?:ens)?/s|t/s)\b", re.I)
_URL_RE = re.compile(r"https?://\S+")
_VERSION_RE = re.compile(r"\b(b\d{3,5})\b")


def parse_bench_text(text: str) -> dict[str, Any]:
    """``submit llama 3.1 8b on 2x 3090 q4_k_m 32k ctx gen 45 pp 900``, ``confirm 12``, ``mine``,
    ``llama 3.1 8b on rtx 4080`` (a listing), or ``submit <pasted tool output>``."""
    from bot.parse import parse_willitrun  # late: bot.parse imports this module

    out: dict[str, Any] = {}
    first, _, rest = text.strip().partition(" ")
    if first.lower() in BENCH_ACTIONS:
        out["action"] = first.lower()
        text = rest.strip()
    if not text:
        return out
    if looks_like_output(text):
        out.setdefault("action", "submit")
        out["paste"] = text
        return out
    if out.get("action") == "confirm":
        m = re.search(r"#?(\d+)", text)
        if m:
            out["id"] = int(m.group(1))
        return out
    if out.get("action") == "submit":
        for regex, name in ((_GEN_RE, "gen_tok_s"), (_PP_RE, "prompt_tok_s")):
            m = regex.search(text)
            if m:
                out[name] = float(m.group(1))
                text = (text[: m.start()] + " " + text[m.end():]).strip()
        if "gen_tok_s" not in out:
            m = _SPEED_RE.search(text)
            if m:
                out["gen_tok_s"] = float(m.group(1))
                text = (text[: m.start()] + " " + text[m.end():]).strip()
        m = _URL_RE.search(text)
        if m:
            out["log_url"] = m.group(0)
            text = (text[: m.start()] + " " + text[m.end():]).strip()
        m = _VERSION_RE.search(text)
        if m:
            out["runtime_version"] = m.group(1)
            text = (text[: m.start()] + " " + text[m.end():]).strip()
    out.update(parse_willitrun(text))
    for unused in ("kv_cache", "flash_attn", "parallel", "ram"):
        out.pop(unused, None)
    return out


def parse_review_text(text: str) -> dict[str, Any]:
    """``approve 12 [reason]``, ``reject 12 reason``, ``list``."""
    out: dict[str, Any] = {}
    first, _, rest = text.strip().partition(" ")
    if first.lower() in REVIEW_ACTIONS:
        out["action"] = first.lower()
        m = re.match(r"\s*#?(\d+)\s*(.*)", rest, re.S)
        if m:
            out["id"] = int(m.group(1))
            if m.group(2).strip():
                out["reason"] = m.group(2).strip()
        elif rest.strip():
            out["reason"] = rest.strip()
    elif text.strip():
        out["reason"] = text.strip()
    return out
