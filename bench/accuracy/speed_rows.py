"""Map the public throughput measurements (shared/calibration/throughput.csv) to catalog ids.

Each CSV row names a model, quantization, backend, hardware and a llama-bench style test in the
publisher's own words. This module turns a row into what the estimator understands: a catalog
model with the same architecture, a quant preset, a hardware entry with a count, a backend, and
the depths at which the test ran. Rows that cannot be mapped come back as a :class:`Skip` with
the reason, so the calibration report can list them.

Used by bench/accuracy/calibrate_speed.py.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def csv_path() -> Path:
    """shared/ sits beside the repository (locally and in CI); CALIBRATION_DIR overrides."""
    env = os.environ.get("CALIBRATION_DIR")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "calibration", Path("/work/shared/calibration")]
    for c in candidates:
        if (c / "throughput.csv").exists():
            return c / "throughput.csv"
    raise FileNotFoundError("throughput.csv not found; set CALIBRATION_DIR to shared/calibration")


# LocalScore runs nine prompt/generation pairs and reports the arithmetic mean of the per-test
# prompt and generation rates (llamafile localscore/localscore.cpp, get_baseline_test_configs
# and getResultsSummary). Each test runs in a fresh context of n_prompt + n_gen cells.
LOCALSCORE_TESTS: tuple[tuple[int, int], ...] = (
    (1024, 16), (4096, 256), (2048, 256), (2048, 768), (1024, 1024),
    (1280, 3072), (384, 1152), (64, 1024), (16, 1536),
)
LOCALSCORE_SOURCE = "https://github.com/Mozilla-Ocho/llamafile/blob/main/localscore/localscore.cpp"

# Publisher's model name -> catalog ids with the same architecture, first one present wins.
# (regex on the CSV 'model' column, candidate ids, note)
MODEL_RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (r"^Meta-Llama-3-8B$", ("llama-3.1-8b",), "Llama 3 8B: same architecture as Llama 3.1 8B"),
    (r"^Meta-Llama-3-70B$", ("llama-3.1-70b",), "Llama 3 70B: same architecture as Llama 3.1 70B"),
    (r"^Llama-3\.1-8B-Instruct$", ("llama-3.1-8b",), ""),
    (r"^Llama-3\.2-3B-Instruct$", ("llama-3.2-3b",), ""),
    (r"^Qwen2\.5-14B-Instruct$", ("qwen2.5-14b",), ""),
    (r"^Qwen2\.5-Coder-7B", ("qwen2.5-coder-7b", "qwen2.5-7b"), "Qwen2.5-Coder-7B: same architecture as Qwen2.5-7B"),
    (r"^Qwen3-Coder-30B-A3B", ("qwen3-coder-30b-a3b", "qwen3-30b-a3b"), "same architecture as Qwen3-30B-A3B"),
    (r"^gpt-oss-20b$", ("gpt-oss-20b",), ""),
    (r"^gpt-oss-120b$", ("gpt-oss-120b",), ""),
    (r"^gemma-3-4b-it", ("gemma-3-4b",), "QAT Q4_0 build"),
    (r"^Mistral-7B-v0\.1$", ("mistral-7b",), "Mistral 7B v0.1: same layers as v0.3 (32000 vs 32768 vocab)"),
)
# Models the catalog does not carry (no entry with the same architecture).
UNCATALOGUED_MODELS = {
    r"^Llama-2-": "Llama 2 (MHA, 32000 vocab): no catalog model with this architecture",
    r"^phi-2$": "Phi-2: not in the catalog",
    r"^TinyLlama-1\.1B$": "TinyLlama 1.1B: not in the catalog",
}

QUANT_RULES: tuple[tuple[str, str | None, str], ...] = (
    (r"^Q4_K_M$", "Q4_K_M", ""),
    (r"^Q4_0$", "Q4_0", ""),
    (r"^Q8_0$", "Q8_0", ""),
    (r"^F16$", "F16", ""),
    (r"^MXFP4 \(MoE\)$", "MXFP4_MOE", ""),
    # gpt-oss-20b-F16.gguf keeps attention, embeddings and output in F16 (MXFP4 experts): no preset
    # describes it (MXFP4_MOE puts those in Q8_0, F16 would make the experts F16).
    (r"^MXFP4 experts \(file gpt-oss-20b-F16", None,
     "file gpt-oss-20b-F16.gguf (F16 non-expert tensors, MXFP4 experts) matches no catalog preset"),
)

BACKEND_RULES: tuple[tuple[str, str], ...] = (
    (r"CUDA", "cuda"), (r"Metal", "metal"), (r"ROCm", "rocm"), (r"Vulkan", "vulkan"),
    (r"SYCL", "sycl"), (r"CPU", "cpu"),
)

# Publisher's hardware text -> (catalog id, GPU cores when the row is a binned part, note).
# Binned Apple parts (fewer GPU cores, same memory bandwidth) map to the chip's entry; the
# calibration gives the estimator the measured part's core count so prefill is priced right.
HARDWARE_RULES: tuple[tuple[str, str | None, int | None, str], ...] = (
    (r"RTX 3080 10GB", "rtx-3080-10gb", None, ""),
    (r"RTX 3080 Ti", "rtx-3080-ti", None, ""),
    (r"GeForce RTX 4080$", "rtx-4080", None, ""),
    (r"RTX 6000 Ada", "rtx-6000-ada", None, ""),
    (r"NVIDIA L40S", "l40s", None, ""),
    (r"H100 PCIe", "h100-pcie", None, ""),
    (r"DGX Spark", "dgx-spark", None, ""),
    (r"M2 Ultra \(76-core", "m2-ultra-76c", None, ""),
    (r"M3 Max \(48GB", "m3-max-40c", None, "48 GB M3 Max ships with the 40-core GPU"),
    (r"Apple M1 \(7-core", "m1", 7, "7-core GPU bin of the M1"),
    (r"M1 Max \(32-core", "m1-max-32c", None, ""),
    (r"M1 Pro \(14-core", "m1-pro", 14, "14-core GPU bin of the M1 Pro"),
    (r"M1 Pro \(16-core", "m1-pro", None, ""),
    (r"M1 Ultra \(48-core", "m1-ultra-48c", None, ""),
    (r"Apple M2 \(10-core", "m2", None, ""),
    (r"M2 Max \(38-core", "m2-max-38c", None, ""),
    (r"M2 Pro \(19-core", "m2-pro", None, ""),
    (r"M3 Max \(30-core", "m3-max-30c", None, ""),
    (r"M3 Max \(40-core", "m3-max-40c", None, ""),
    (r"M3 Pro \(14-core", "m3-pro", 14, "14-core GPU bin of the M3 Pro"),
    (r"M3 Pro \(18-core", "m3-pro", None, ""),
    (r"M3 Ultra \(60-core", "m3-ultra-60c", None, ""),
    (r"M3 Ultra \(80-core", "m3-ultra-80c", None, ""),
    (r"Apple M4 \(10-core", "m4", None, ""),
    (r"M4 Pro \(20-core", "m4-pro", None, ""),
    (r"M4 Pro \(16-core", "m4-pro", 16, "16-core GPU bin of the M4 Pro"),
    (r"^Apple M5$", "m5", None, ""),
    (r"RX 7900 XTX", "rx-7900-xtx", None, ""),
    (r"Ryzen AI Max\+ 395", "ryzen-ai-max-plus-395", None, ""),
    (r"RX 5700 XT", None, None, "Radeon RX 5700 XT is not in catalog/data/hardware"),
)


@dataclass(frozen=True)
class Test:
    """One decode or prefill measurement, as the parts the estimator prices.

    ``parts`` are (context cells, depth) pairs whose predicted rates are averaged: one part for
    llama-bench, nine for LocalScore. Decode depth is the middle of the generated span; a
    prefill part's depth is the prompt length whose causal attention costs the same as the
    measured N tokens on top of d cached ones (2d + N).
    """

    kind: str                           # "tg" or "pp"
    n: int                              # tokens generated / processed (suite mean for LocalScore)
    depth: int                          # tokens already in the KV cache when the test started
    protocol: str                       # "llama-bench", "main", "localscore"
    parts: tuple[tuple[int, int], ...]  # (ctx, depth-or-prompt) per averaged test


@dataclass(frozen=True)
class Mapped:
    index: int
    row: dict[str, str]
    model: str
    quant: str
    hardware: str
    count: int
    memory_gib: float | None
    gpu_cores: int | None
    backend: str
    test: Test
    flash_attn: bool
    notes: tuple[str, ...]

    @property
    def tok_s(self) -> float:
        return float(self.row["tok_s"])

    @property
    def label(self) -> str:
        n = f"{self.count}x " if self.count > 1 else ""
        cores = f"({self.gpu_cores}c)" if self.gpu_cores else ""
        return f"{self.model} {self.quant} {n}{self.hardware}{cores} {self.backend}"


@dataclass(frozen=True)
class Skip:
    index: int
    row: dict[str, str]
    reason: str


def _first(rules, text):
    for rule in rules:
        if re.search(rule[0], text):
            return rule
    return None


def parse_test(text: str, context: str, notes: str) -> Test | None:
    t = text.strip()
    if t.startswith("tg (LocalScore"):
        parts = tuple((p + g, p + g // 2) for p, g in LOCALSCORE_TESTS)
        n = round(sum(g for _, g in LOCALSCORE_TESTS) / len(LOCALSCORE_TESTS))
        d = round(sum(p for p, _ in LOCALSCORE_TESTS) / len(LOCALSCORE_TESTS))
        return Test("tg", n, d, "localscore", parts)
    if t.startswith("pp (LocalScore"):
        parts = tuple((p + g, p) for p, g in LOCALSCORE_TESTS)
        n = round(sum(p for p, _ in LOCALSCORE_TESTS) / len(LOCALSCORE_TESTS))
        return Test("pp", n, 0, "localscore", parts)
    m = re.match(r"^(tg|pp)(\d+)(?: @ d(\d+))?(?: \(main .*\))?$", t)
    if not m:
        return None
    kind, n, d = m.group(1), int(m.group(2)), int(m.group(3) or 0)
    if "(main" in t:
        # ./main with n_ctx=512 after a 494-token prompt: generation runs with context shifting,
        # so the cache holds between ~256 and 512 tokens; prefill of the prompt from empty.
        ctx = int(context or 512)
        return Test(kind, n, 0, "main", ((ctx, ctx * 3 // 4),) if kind == "tg" else ((ctx, n),))
    if kind == "tg":
        return Test(kind, n, d, "llama-bench", ((d + n, d + n // 2),))
    return Test(kind, n, d, "llama-bench", ((max(d + n, 2 * d + n), 2 * d + n),))


def _memory_option(notes: str, hardware: str) -> float | None:
    m = re.search(r"accel_ram (\d+) GB", notes) or re.search(r"(\d+)GB\)?", hardware)
    return float(m.group(1)) if m else None


def map_row(index: int, row: dict[str, str], catalog) -> Mapped | Skip:
    notes = row["notes"]
    if "ANOMALY" in notes:
        return Skip(index, row, "marked ANOMALY in the CSV notes")
    model_text = row["model"].strip()
    for pat, why in UNCATALOGUED_MODELS.items():
        if re.search(pat, model_text):
            return Skip(index, row, why)
    rule = _first(MODEL_RULES, model_text)
    if rule is None:
        return Skip(index, row, f"no mapping for model {model_text!r}")
    model = next((c for c in rule[1] if c in catalog.models), None)
    if model is None:
        return Skip(index, row, f"model {'/'.join(rule[1])} not in the catalog yet")
    q = _first(QUANT_RULES, row["quant"].strip())
    if q is None:
        return Skip(index, row, f"no mapping for quant {row['quant']!r}")
    if q[1] is None:
        return Skip(index, row, q[2])
    b = _first(BACKEND_RULES, row["backend"])
    if b is None:
        return Skip(index, row, f"no mapping for backend {row['backend']!r}")
    h = _first(HARDWARE_RULES, row["hardware"].strip())
    if h is None:
        return Skip(index, row, f"no mapping for hardware {row['hardware']!r}")
    if h[1] is None or h[1] not in catalog.hardware:
        return Skip(index, row, h[3] or f"hardware {h[1]} not in catalog/data/hardware")
    test = parse_test(row["test"], row["context"], notes)
    if test is None:
        return Skip(index, row, f"cannot parse test {row['test']!r}")
    spec = catalog.hardware[h[1]]
    mem = _memory_option(notes, row["hardware"])
    if mem not in spec.memory_gib:
        mem = None
    flash = "-fa 1" in notes or "flash attention on" in notes
    extra = tuple(x for x in (rule[2], q[2], h[3]) if x)
    return Mapped(index, row, model, q[1], h[1], int(row["n_gpus"] or 1), mem, h[2], b[1], test,
                  flash, extra)


def load_rows(catalog, path: Path | None = None) -> tuple[list[Mapped], list[Skip]]:
    path = path or csv_path()
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    mapped: list[Mapped] = []
    skipped: list[Skip] = []
    for i, row in enumerate(rows):
        r = map_row(i, row, catalog)
        (mapped if isinstance(r, Mapped) else skipped).append(r)
    return mapped, skipped
