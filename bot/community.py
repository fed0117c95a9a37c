"""Community benchmarks: checking a submission before it is stored, and weighing approved ones.

A submission is stored only when every id resolves in the catalog, every required field is
there, and its generation speed is physically possible. The physical limit: decoding one
token reads every active weight once, so a single stream cannot beat

    memory bandwidth (bytes/s) x device count / active weight bytes at that quant

(MoE models: only the routed experts' share of the expert tensors counts; the output head is
read every token, the embedding table is not). Submissions up to ``SPEED_MARGIN`` (1.5x) of that
are accepted: speculative decoding / lookahead can emit more than one token per weight read,
and vendors' peak bandwidth figures are rounded. Prompt speed is compute-bound and has no
comparably simple limit; it is only checked for being positive and below ``MAX_PROMPT_TOK_S``.

Several approved records on one tuple that agree (within ``AGREEMENT`` = 15% of their median)
from different submitters raise the confidence of the community evidence.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Any, Literal

from catalog.gpu_db import long_tail
from catalog.loader import Catalog, get_catalog
from catalog.lookup import Match
from catalog.resolve import get_resolver
from catalog.schemas import HardwareSpec, ModelSpec, QuantPreset, RuntimeSpec

from bot.bench_parse import ParsedBench
from bot.estimator import memory as mem
from bot.estimator.plan import default_backend
from bot.estimator.tensors import model_tensors
from bot.store.base import BenchSubmission

SPEED_MARGIN = 1.5
AGREEMENT = 0.15
MAX_PROMPT_TOK_S = 1_000_000.0
MAX_CONTEXT = 10_000_000
REQUIRED = ("model", "quant", "hardware", "runtime", "context", "gen_tok_s")
BACKENDS = ("cuda", "rocm", "metal", "vulkan", "sycl", "cpu")
LABELS = {"model": "model", "quant": "quant", "hardware": "hardware", "count": "device count",
          "runtime": "runtime", "runtime_version": "runtime version", "backend": "backend",
          "context": "context (ctx)", "prompt_tok_s": "prompt tok/s", "gen_tok_s": "generation tok/s",
          "log_url": "log link"}
HOWTO = {"model": "model=llama-3.1-8b", "quant": "quant=Q4_K_M", "hardware": "hardware='2x rtx 3090'",
         "runtime": "runtime=llama.cpp", "context": "ctx=8192", "gen_tok_s": "gen_tok_s=45.2"}


class SubmissionProblem(Exception):
    """What is wrong with a submission, in words for the submitter."""

    def __init__(self, title: str, message: str, suggestions: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.suggestions = tuple(suggestions)


@dataclass(frozen=True)
class CheckedSubmission:
    """A submission whose ids resolved and whose numbers passed the checks."""

    model: ModelSpec
    quant: QuantPreset
    hardware: HardwareSpec
    count: int
    runtime: RuntimeSpec
    runtime_version: str | None
    backend: str
    context: int
    prompt_tok_s: float | None
    gen_tok_s: float
    log_url: str | None
    source_format: str
    bound_tok_s: float          # the physical limit, before the margin
    active_bytes: float

    def to_submission(self, submitter: str, platform: str, server_id: str | None,
                      status: str = "draft") -> BenchSubmission:
        return BenchSubmission(
            model=self.model.id, quant=self.quant.id, hardware=self.hardware.id, count=self.count,
            runtime=self.runtime.id, runtime_version=self.runtime_version, backend=self.backend,
            context=self.context, prompt_tok_s=self.prompt_tok_s, gen_tok_s=self.gen_tok_s,
            submitter=submitter, platform=platform, server_id=server_id, log_url=self.log_url,  # type: ignore[arg-type]
            status=status, source_format=self.source_format)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Fields: typed options over what a paste said
# ---------------------------------------------------------------------------------------------


def merge_fields(options: dict[str, Any], parsed: ParsedBench | None) -> tuple[dict[str, Any], set[str]]:
    """Typed options win over values read from a paste; also returns which fields were read."""
    fields: dict[str, Any] = dict(parsed.fields) if parsed else {}
    read = set(fields)
    for name in ("model", "quant", "hardware", "runtime", "runtime_version", "backend", "prompt_tok_s",
                 "gen_tok_s", "log_url"):
        if options.get(name) not in (None, ""):
            fields[name] = options[name]
            read.discard(name)
    if options.get("ctx") not in (None, ""):
        fields["context"] = options["ctx"]
        read.discard("context")
    if options.get("hardware"):
        fields.pop("count", None)  # the typed hardware says its own count ('2x 3090')
        read.discard("count")
    return fields, read


def missing_fields(fields: dict[str, Any]) -> list[str]:
    return [f for f in REQUIRED if fields.get(f) in (None, "")]


# ---------------------------------------------------------------------------------------------
# Resolution and checks
# ---------------------------------------------------------------------------------------------


def _resolved(match: Match, kind: str):
    if match.found:
        return match.entry
    q = match.query.strip()
    if match.ambiguous:
        raise SubmissionProblem(f"Which {kind}?", f"'{q}' matches several {kind}s; name one exactly.",
                                [getattr(c, "id", str(c)) for c in match.candidates])
    raise SubmissionProblem(f"Unknown {kind}", f"I don't know the {kind} '{q}', so I can't store numbers for it.",
                            list(match.suggestions))


def hardware_by_id(hardware_id: str) -> HardwareSpec | None:
    """A curated device, or one from the TechPowerUp long tail, by id."""
    spec = get_catalog().hardware.get(hardware_id)
    if spec is None and hardware_id.startswith("tpu-"):
        spec = long_tail().exact(hardware_id)
    return spec


def _number(value: Any, name: str) -> float:
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        raise SubmissionProblem("Not a number", f"{LABELS[name]}: '{value}' is not a number.") from None


def active_weight_bytes(model: ModelSpec, quant: QuantPreset, catalog: Catalog) -> float:
    """Weight bytes read to decode one token: repeating layers (MoE experts at their routed share)
    plus the output head; the embedding table is a lookup of one row and is left out."""
    w = mem.weights(model, quant, catalog.ggml_types)
    moe = model.architecture.moe
    if moe is None:
        return float(sum(w.per_layer) + w.output)
    share = moe.experts_per_token / moe.num_experts
    n_layers = model.architecture.num_layers
    expert, total = [0] * n_layers, [0] * n_layers
    for t in model_tensors(model.architecture):
        if t.layer is None:
            continue
        total[t.layer] += t.n_elements
        if t.is_expert:
            expert[t.layer] += t.n_elements
    active = 0.0
    for il, b in enumerate(w.per_layer):
        frac = expert[il] / total[il] if total[il] else 0.0
        active += b * (1 - frac) + b * frac * share
    return active + w.output


def decode_bound_tok_s(model: ModelSpec, quant: QuantPreset, hardware: HardwareSpec, count: int,
                       catalog: Catalog | None = None) -> tuple[float, float]:
    """(physical upper bound on single-stream tok/s, active weight bytes) for the tuple."""
    catalog = catalog or get_catalog()
    active = active_weight_bytes(model, quant, catalog)
    return hardware.memory_bandwidth_gbps * 1e9 * count / active, active


def check_submission(fields: dict[str, Any], source_format: str = "manual") -> CheckedSubmission:
    """Resolve every id and check every number; raises SubmissionProblem with what to fix."""
    missing = missing_fields(fields)
    if missing:
        raise SubmissionProblem("Missing fields", "A submission needs " + ", ".join(LABELS[f] for f in missing)
                                + ". Add them as options, e.g. " + " ".join(HOWTO[f] for f in missing) + ".")
    cat = get_catalog()
    r = get_resolver()
    model = _resolved(r.models.resolve(str(fields["model"])), "model")
    quant = _resolved(r.quants.resolve(str(fields["quant"])), "quantization")
    runtime = _resolved(r.runtimes.resolve(str(fields["runtime"])), "runtime")
    setup = r.setup(str(fields["hardware"]))
    if not setup.found:
        if setup.problem is None:
            raise SubmissionProblem("Unknown hardware", f"I can't read '{fields['hardware']}' as hardware.")
        _resolved(setup.problem, "hardware")
    kinds = {d.spec.id for d in setup.devices}
    if len(kinds) > 1:
        raise SubmissionProblem("One kind of device per submission",
                                "Mixed set-ups (" + " + ".join(d.label for d in setup.devices) + ") can't be compared "
                                "with other records; submit runs on one kind of device (e.g. 2x rtx 3090).")
    device = setup.devices[0]
    count = device.count
    if count == 1 and fields.get("count"):
        count = int(fields["count"])
    if not 1 <= count <= 64:
        raise SubmissionProblem("Device count out of range", f"{count} devices: use 1 to 64.")
    if not _runs_on(quant, runtime):
        raise SubmissionProblem("That combination doesn't exist",
                                f"{quant.id} ({quant.format}) doesn't run on {runtime.name}; it runs on "
                                + ", ".join(quant.runtimes) + ".")
    backend = str(fields.get("backend") or default_backend(device.spec)).lower()
    if backend not in BACKENDS:
        raise SubmissionProblem("Unknown backend", f"'{backend}' is not a backend; use one of {', '.join(BACKENDS)}.")
    context = int(_number(fields["context"], "context"))
    if not 1 <= context <= MAX_CONTEXT:
        raise SubmissionProblem("Context out of range", f"A context of {context:,} tokens: use 1 to {MAX_CONTEXT:,}.")
    gen = _number(fields["gen_tok_s"], "gen_tok_s")
    prompt = None if fields.get("prompt_tok_s") in (None, "") else _number(fields["prompt_tok_s"], "prompt_tok_s")
    if gen <= 0 or (prompt is not None and prompt <= 0):
        raise SubmissionProblem("Speeds must be positive", "Tokens per second must be above zero.")
    if prompt is not None and prompt > MAX_PROMPT_TOK_S:
        raise SubmissionProblem("Impossible prompt speed", f"{prompt:,.0f} tok/s of prompt processing is beyond "
                                "any single machine; check the number.")
    bound, active = decode_bound_tok_s(model, quant, device.spec, count, cat)
    if gen > bound * SPEED_MARGIN:
        hw = f"{count}x {device.spec.name}" if count > 1 else device.spec.name
        raise SubmissionProblem(
            "Impossible generation speed",
            f"{gen:,.1f} tok/s is more than {hw} can do for {model.name} at {quant.id}: each token reads "
            f"{active / 1e9:.2f} GB of active weights, and {count * device.spec.memory_bandwidth_gbps:,.0f} GB/s "
            f"of memory bandwidth allows at most {bound:,.1f} tok/s (I accept up to {SPEED_MARGIN:g}x that). "
            "Check the model, quant and hardware, and submit runs without speculative decoding.")
    log_url = _log_url(fields.get("log_url"))
    version = str(fields["runtime_version"]).strip()[:40] if fields.get("runtime_version") else None
    return CheckedSubmission(model=model, quant=quant, hardware=device.spec, count=count, runtime=runtime,
                             runtime_version=version, backend=backend, context=context, prompt_tok_s=prompt,
                             gen_tok_s=gen, log_url=log_url, source_format=source_format, bound_tok_s=bound,
                             active_bytes=active)


def _runs_on(quant: QuantPreset, runtime: RuntimeSpec) -> bool:
    engines = {runtime.id, *(e.strip() for e in re.split(r"[/,]", runtime.engine or "") if e.strip())}
    return bool(engines & set(quant.runtimes)) or quant.format in runtime.formats


def _log_url(value: Any) -> str | None:
    if value in (None, ""):
        return None
    url = str(value).strip().strip("<>")
    if not re.fullmatch(r"https?://[^\s<>\"]{3,490}", url):
        raise SubmissionProblem("Bad log link", "The log link must be a single http(s) URL (up to 500 characters).")
    return url


# ---------------------------------------------------------------------------------------------
# Agreement between approved records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    records: int
    submitters: int
    agreeing_submitters: int     # distinct submitters with a record within AGREEMENT of the median
    median_tok_s: float
    confidence: Literal["low", "medium", "high"]

    def describe(self) -> str:
        if self.agreeing_submitters >= 2:
            return (f"{self.agreeing_submitters} submitters agree within {AGREEMENT:.0%} (median "
                    f"{self.median_tok_s:,.1f} tok/s): {self.confidence} confidence")
        if self.submitters >= 2:
            return (f"{self.submitters} submitters disagree by more than {AGREEMENT:.0%} (median "
                    f"{self.median_tok_s:,.1f} tok/s): low confidence")
        return f"one submitter ({self.records} record{'s' if self.records > 1 else ''}): low confidence"


def agreement(records: list[BenchSubmission]) -> Agreement | None:
    """How far approved records on one tuple agree on generation speed."""
    if not records:
        return None
    median = statistics.median(r.gen_tok_s for r in records)
    agreeing = {r.submitter for r in records if abs(r.gen_tok_s - median) <= AGREEMENT * median}
    n = len(agreeing)
    confidence: Literal["low", "medium", "high"] = "high" if n >= 3 else "medium" if n == 2 else "low"
    return Agreement(len(records), len({r.submitter for r in records}), n, median, confidence)
