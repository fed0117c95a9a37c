"""Submission checks (ids, required fields, the physical speed limit) and record agreement."""

from __future__ import annotations

import pytest

from catalog.loader import get_catalog

from bot.community import (
    SPEED_MARGIN,
    SubmissionProblem,
    agreement,
    check_submission,
    decode_bound_tok_s,
)
from bot.store import BenchSubmission

GOOD = {"model": "llama 3.1 8b", "quant": "Q4_K_M", "hardware": "rtx 4090", "runtime": "llama.cpp",
        "context": 8192, "gen_tok_s": 140.0, "prompt_tok_s": 9000.0}


def test_curated_records_respect_the_limit():
    """Every curated generation record in the catalog is below the physical limit (no margin needed)."""
    cat = get_catalog()
    checked = 0
    for b in cat.benchmarks:
        if not b.test.startswith("tg") or b.quant not in cat.quants:
            continue
        bound, _ = decode_bound_tok_s(cat.models[b.model], cat.quants[b.quant], cat.hardware[b.hardware], b.count, cat)
        assert b.tok_s <= bound, (b.model, b.quant, b.hardware, b.tok_s, bound)
        checked += 1
    assert checked >= 50


def test_limit_scales_with_bandwidth_count_and_moe():
    """More devices raise the limit; a MoE model is limited by its active experts, not its total."""
    cat = get_catalog()
    m8, q4 = cat.models["llama-3.1-8b"], cat.quants["Q4_K_M"]
    one, _ = decode_bound_tok_s(m8, q4, cat.hardware["rtx-3090"], 1, cat)
    two, _ = decode_bound_tok_s(m8, q4, cat.hardware["rtx-3090"], 2, cat)
    assert two == pytest.approx(2 * one)
    assert 150 < one < 250  # 936 GB/s over ~4.6 GB of Q4_K_M weights
    moe, active = decode_bound_tok_s(cat.models["qwen3-30b-a3b"], q4, cat.hardware["rtx-3090"], 1, cat)
    assert active < 0.25 * 30.5e9 * 0.6  # a few GB of active weights, not ~17 GB
    assert moe > 2 * one


def test_good_submission_resolves():
    """A complete, plausible submission resolves every id and keeps the numbers."""
    c = check_submission(dict(GOOD))
    assert (c.model.id, c.quant.id, c.hardware.id, c.count, c.runtime.id, c.backend) == (
        "llama-3.1-8b", "Q4_K_M", "rtx-4090", 1, "llama.cpp", "cuda")
    assert c.gen_tok_s == 140.0 and c.bound_tok_s > 140.0
    sub = c.to_submission("discord:1", "discord", "g1")
    assert sub.status == "draft" and sub.model == "llama-3.1-8b" and sub.hardware == "rtx-4090"


def test_count_from_hardware_text_and_from_paste():
    """'2x rtx 3090' counts two devices; a paste's device count applies to a bare name."""
    assert check_submission({**GOOD, "hardware": "2x rtx 3090"}).count == 2
    assert check_submission({**GOOD, "hardware": "RTX 3090", "count": 2}).count == 2


@pytest.mark.parametrize("change,title", [
    ({"model": None}, "Missing fields"),
    ({"gen_tok_s": ""}, "Missing fields"),
    ({"model": "lama 3.1 8bb"}, "Unknown model"),
    ({"model": "llama 70b"}, "Which model?"),
    ({"hardware": "rtx 9999"}, "Unknown hardware"),
    ({"quant": "Q9_Z"}, "Unknown quantization"),
    ({"runtime": "notaruntime"}, "Unknown runtime"),
    ({"hardware": "rtx 4090 + rtx 3090"}, "One kind of device"),
    ({"quant": "MLX-4bit"}, "doesn't exist"),
    ({"gen_tok_s": 400.0}, "Impossible generation speed"),
    ({"gen_tok_s": -3}, "positive"),
    ({"gen_tok_s": "fast"}, "Not a number"),
    ({"context": 0}, "Context out of range"),
    ({"backend": "opencl"}, "Unknown backend"),
    ({"log_url": "javascript:alert(1)"}, "Bad log link"),
    ({"log_url": "https://a.example/x y"}, "Bad log link"),
])
def test_bad_submissions(change, title):
    """Bad submissions raise a problem that says what is wrong (and nothing is stored)."""
    fields = {**GOOD, **change}
    with pytest.raises(SubmissionProblem) as info:
        check_submission(fields)
    assert title.lower() in info.value.title.lower()
    assert info.value.message


def test_impossible_speed_message_explains():
    """The rejection names the bandwidth, the active bytes and the margin."""
    with pytest.raises(SubmissionProblem) as info:
        check_submission({**GOOD, "gen_tok_s": 400.0})
    msg = info.value.message
    assert "GB/s" in msg and "GB of active weights" in msg and f"{SPEED_MARGIN:g}x" in msg


def test_margin_allows_just_above_limit():
    """Speeds between the limit and the margin are accepted (speculative decoding, rounding)."""
    bound = check_submission(dict(GOOD)).bound_tok_s
    assert check_submission({**GOOD, "gen_tok_s": bound * 1.2}).gen_tok_s == pytest.approx(bound * 1.2)


def _sub(submitter: str, gen: float) -> BenchSubmission:
    return BenchSubmission(model="llama-3.1-8b", quant="Q4_K_M", hardware="rtx-4090", count=1, runtime="llama.cpp",
                           runtime_version=None, backend="cuda", context=4096, prompt_tok_s=None, gen_tok_s=gen,
                           submitter=submitter, platform="discord", status="approved")


@pytest.mark.parametrize("records,confidence,agreeing", [
    ([("a", 140)], "low", 1),
    ([("a", 140), ("a", 141)], "low", 1),                 # one submitter twice is not agreement
    ([("a", 140), ("b", 150)], "medium", 2),
    ([("a", 140), ("b", 150), ("c", 133)], "high", 3),
    ([("a", 60), ("b", 140), ("c", 220)], "low", 1),       # far apart: only the median agrees with itself
])
def test_agreement(records, confidence, agreeing):
    """Agreement counts distinct submitters within 15% of the median."""
    a = agreement([_sub(s, g) for s, g in records])
    assert a is not None and (a.confidence, a.agreeing_submitters) == (confidence, agreeing)
    assert "confidence" in a.describe()
    assert agreement([]) is None
