"""Calibrate and check the speed model (bot/estimator/speed.py) on public llama.cpp measurements.

    python bench/accuracy/calibrate_speed.py                     # fit, report, check the target
    python bench/accuracy/calibrate_speed.py --write-benchmarks  # also regenerate benchmarks.yaml

Each row of shared/calibration/throughput.csv is mapped to catalog ids (speed_rows.py) and run
through the real estimator (plan + estimate). The fit uses the estimator itself: decode is run
with bandwidth efficiency 1 and no fixed cost, which gives the seconds of memory traffic per
token S of each row; the estimator's prediction is then 1 / (S / eff + fixed_ms / 1000), so the
two decode parameters per backend are found by a grid search minimising the mean absolute log
error. Prefill is linear in the efficiency (Apple: in efficiency x TFLOPS per core), so its L1
optimum in log space is the median of log(measured / predicted-at-efficiency-1).

The figures printed last ("shipped") are for the constants currently in speed.py, evaluated with
an unpatched estimator; the script exits 1 if the median decode error is 15% or more.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bot.estimator.fit as fit_mod  # noqa: E402
import bot.estimator.speed as speed_mod  # noqa: E402
from bot.estimator import Options, estimate, plan  # noqa: E402
from catalog.loader import load_catalog  # noqa: E402
from catalog.resolve import Device  # noqa: E402
from speed_rows import LOCALSCORE_SOURCE, Mapped, csv_path, load_rows  # noqa: E402

TARGET_MEDIAN_DECODE_ERROR = 0.15
MIN_ROWS_TWO_PARAMS = 6      # fewer decode rows than this: fit the efficiency only
MIN_SPREAD_TWO_PARAMS = 2.0  # ... or when S (seconds per token at eff 1) varies less than 2x
METAL_PREFILL_EFFICIENCY = 0.5  # held fixed: only efficiency x TFLOPS/core is identified on Metal


# ------------------------------------------------------------------------------------------
# Running the estimator with given constants
# ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def constants(decode: dict | None = None, prefill: dict | None = None, apple: float | None = None):
    """Temporarily set calibration constants inside the estimator modules."""
    saved = (dict(speed_mod.DECODE_CALIBRATION), dict(speed_mod.PREFILL_EFFICIENCY),
             fit_mod.APPLE_TFLOPS_PER_CORE)
    try:
        if decode is not None:
            speed_mod.DECODE_CALIBRATION.update(decode)
        if prefill is not None:
            speed_mod.PREFILL_EFFICIENCY.update(prefill)
        if apple is not None:
            fit_mod.APPLE_TFLOPS_PER_CORE = apple
        yield
    finally:
        speed_mod.DECODE_CALIBRATION.clear()
        speed_mod.DECODE_CALIBRATION.update(saved[0])
        speed_mod.PREFILL_EFFICIENCY.clear()
        speed_mod.PREFILL_EFFICIENCY.update(saved[1])
        fit_mod.APPLE_TFLOPS_PER_CORE = saved[2]


def devices(m: Mapped, cat) -> tuple[Device, ...]:
    spec = cat.hardware[m.hardware]
    if m.gpu_cores:
        spec = spec.model_copy(update={"gpu_cores": m.gpu_cores})
    return (Device(spec, m.count, m.memory_gib or spec.memory_gib[-1]),)


@dataclass
class PartResult:
    decode: float | None
    prefill: float | None
    full_offload: bool
    fit: str


def run_part(m: Mapped, cat, ctx: int, tokens: int) -> PartResult:
    opts = Options(quant=cat.quants[m.quant], ctx=ctx, backend=m.backend,
                   runtime=cat.runtimes["llama.cpp"], flash_attn=m.flash_attn, prompt_tokens=tokens)
    req = plan(cat, cat.models[m.model], devices(m, cat), opts)
    r = estimate(req, cat)
    return PartResult(r.decode_tok_s[1] if r.decode_tok_s else None,
                      r.prefill_tok_s[1] if r.prefill_tok_s else None,
                      r.gpu_layers == r.total_layers, r.fit)


def predict(m: Mapped, cat) -> tuple[float | None, str]:
    """The estimator's expected speed for the row's test (mean over the test's parts)."""
    vals, fits = [], set()
    for ctx, tokens in m.test.parts:
        p = run_part(m, cat, ctx, tokens)
        fits.add(p.fit if p.full_offload else f"{p.fit}/partial-offload")
        vals.append(p.decode if m.test.kind == "tg" else p.prefill)
    if any(v is None for v in vals):
        return None, ",".join(sorted(fits))
    return sum(vals) / len(vals), ",".join(sorted(fits))


# ------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------


@dataclass
class Row:
    m: Mapped
    base: list[float]          # decode: seconds/token at eff 1 per part; prefill: tok/s at eff 1
    note: str = ""


def decode_bases(rows: list[Mapped], cat) -> tuple[list[Row], list[tuple[Mapped, str]]]:
    unit = {b: (1.0, 0.0) for b in speed_mod.DECODE_CALIBRATION}
    out, dropped = [], []
    with constants(decode=unit):
        for m in rows:
            parts, bad = [], ""
            for ctx, depth in m.test.parts:
                p = run_part(m, cat, ctx, depth)
                if not p.full_offload or p.decode is None:
                    bad = f"estimator does not place it fully on the GPU (fit={p.fit})"
                    break
                parts.append(1.0 / p.decode)
            if bad:
                dropped.append((m, bad))
            else:
                out.append(Row(m, parts))
    return out, dropped


def prefill_bases(rows: list[Mapped], cat) -> tuple[list[Row], list[tuple[Mapped, str]]]:
    unit = {b: 1.0 for b in speed_mod.PREFILL_EFFICIENCY}
    out, dropped = [], []
    with constants(prefill=unit, apple=1.0):
        for m in rows:
            parts, bad = [], ""
            for ctx, tokens in m.test.parts:
                p = run_part(m, cat, ctx, tokens)
                if not p.full_offload:
                    bad = f"estimator does not place it fully on the GPU (fit={p.fit})"
                    break
                if p.prefill is None:
                    bad = "no prefill estimate (hardware entry has no fp16_tensor_tflops)"
                    break
                parts.append(p.prefill)
            if bad:
                dropped.append((m, bad))
            else:
                out.append(Row(m, parts))
    return out, dropped


def decode_pred(rows: list[Row], eff: float, fixed_ms: float) -> np.ndarray:
    return np.array([np.mean([1.0 / (s / eff + fixed_ms / 1000) for s in r.base]) for r in rows])


def fit_decode(rows: list[Row], fixed_prior: float | None) -> tuple[float, float, str]:
    """Grid search on (eff, fixed_ms) minimising the mean |log(pred / measured)|."""
    meas = np.log([r.m.tok_s for r in rows])
    flat = np.concatenate([np.array(r.base) for r in rows])
    owner = np.concatenate([np.full(len(r.base), i) for i, r in enumerate(rows)])
    weight = np.concatenate([np.full(len(r.base), 1.0 / len(r.base)) for r in rows])
    spread = max(np.mean(r.base) for r in rows) / min(np.mean(r.base) for r in rows)
    two = len(rows) >= MIN_ROWS_TWO_PARAMS and spread >= MIN_SPREAD_TWO_PARAMS
    effs = np.arange(0.20, 1.0001, 0.0025)
    fixeds = np.arange(0.0, 15.0001, 0.05) if two or fixed_prior is None else np.array([fixed_prior])
    best = (math.inf, 0.0, 0.0)
    for e in effs:
        # rate of every part for every fixed cost: (n_fixed, n_parts)
        rate = weight / (flat[None, :] / e + fixeds[:, None] / 1000)
        pred = np.zeros((len(fixeds), len(rows)))
        for i in range(len(fixeds)):
            pred[i] = np.bincount(owner, weights=rate[i], minlength=len(rows))
        loss = np.mean(np.abs(np.log(pred) - meas[None, :]), axis=1)
        j = int(np.argmin(loss))
        if loss[j] < best[0]:
            best = (float(loss[j]), float(e), float(fixeds[j]))
    how = "eff + fixed_ms" if two or fixed_prior is None else f"eff only (fixed_ms held at {fixed_prior:g})"
    return best[1], best[2], how


def fit_prefill(rows: list[Row]) -> float:
    """L1 optimum of log(eff * base / measured): exp(median(log(measured / base)))."""
    ratios = [math.log(r.m.tok_s / np.mean(r.base)) for r in rows]
    return float(math.exp(np.median(ratios)))


# ------------------------------------------------------------------------------------------
# Reporting
# ------------------------------------------------------------------------------------------


def pct(values, q) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def error_figures(items: list[tuple[Mapped, float]]) -> dict[str, tuple[int, float, float]]:
    """Per backend and overall: (rows, median |pred/meas - 1|, p90)."""
    groups: dict[str, list[float]] = {}
    for m, pred in items:
        err = abs(pred / m.tok_s - 1)
        groups.setdefault(m.backend, []).append(err)
        groups.setdefault("all", []).append(err)
    return {k: (len(v), float(np.median(v)), pct(v, 90)) for k, v in groups.items()}


def print_figures(title: str, figs: dict[str, tuple[int, float, float]]) -> None:
    print(f"  {title}")
    for k in ["all"] + sorted(k for k in figs if k != "all"):
        if k in figs:
            n, med, p90 = figs[k]
            print(f"    {k:7s} rows {n:3d}   median error {med * 100:5.1f}%   p90 error {p90 * 100:5.1f}%")


def residual_groups(items: list[tuple[Mapped, float]], cat) -> dict[str, list[float]]:
    """Median predicted / measured by kind of set-up: where the formulas are systematically off."""
    groups: dict[str, list[float]] = {}
    for m, pred in items:
        spec = cat.hardware[m.hardware]
        keys = [m.backend,
                f"{m.backend} {'MoE' if cat.models[m.model].architecture.moe else 'dense'}",
                f"{m.backend} {'multi-GPU' if m.count > 1 else 'one device'}",
                f"{m.backend} {m.test.protocol}"]
        if spec.vendor == "apple":
            tier = next((t for t in ("Ultra", "Max", "Pro") if t in spec.name), "base")
            gen = spec.name.split()[1]
            keys += [f"apple {tier}", f"apple {gen}"]
        for k in keys:
            groups.setdefault(k, []).append(pred / m.tok_s)
    return groups


def depth_check(mapped: list[Mapped], cat) -> list[str]:
    """Speed at depth relative to the shallowest test of the same set-up: measured vs estimator.

    Prefill ratios do not depend on the TFLOPS, so hardware without fp16_tensor_tflops is given a
    nominal 100 TFLOPS here to read the estimator's attention term."""
    out = []
    groups: dict[tuple, list[Mapped]] = {}
    for m in mapped:
        if m.test.protocol != "llama-bench":
            continue
        key = (m.model, m.quant, m.hardware, m.count, m.backend, m.test.kind, m.row["source"])
        groups.setdefault(key, []).append(m)
    for key, ms in groups.items():
        if len(ms) < 2:
            continue
        ms.sort(key=lambda m: m.test.parts[0][1])
        preds = []
        for m in ms:
            mm = m
            spec = cat.hardware[m.hardware]
            if m.test.kind == "pp" and not spec.fp16_tensor_tflops and spec.vendor != "apple":
                patched = spec.model_copy(update={"fp16_tensor_tflops": 100.0})
                cat.hardware[m.hardware] = patched
                try:
                    preds.append(predict(mm, cat)[0])
                finally:
                    cat.hardware[m.hardware] = spec
            else:
                preds.append(predict(mm, cat)[0])
        if any(p is None for p in preds):
            continue
        base_m, base_p = ms[0].tok_s, preds[0]
        cells = [f"{fmt_test(m)} {m.tok_s / base_m:.2f}/{p / base_p:.2f}" for m, p in zip(ms[1:], preds[1:])]
        n = f"{key[3]}x " if key[3] > 1 else ""
        out.append(f"  {key[0]} {key[1]} {n}{key[2]} vs {fmt_test(ms[0])}: " + ", ".join(cells))
    return out


def fmt_test(m: Mapped) -> str:
    t = m.test
    if t.protocol == "localscore":
        return f"LS-{t.kind}"
    return f"{t.kind}{t.n}" + (f"@d{t.depth}" if t.depth else "")


def rounded(x: float, step: float) -> float:
    return round(round(x / step) * step, 6)


# ------------------------------------------------------------------------------------------
# benchmarks.yaml
# ------------------------------------------------------------------------------------------


def benchmark_records(mapped: list[Mapped]) -> tuple[list[dict], list[tuple[Mapped, str]]]:
    records, left_out = [], []
    for m in mapped:
        if m.gpu_cores and m.test.kind == "pp":
            left_out.append((m, f"prefill on a {m.gpu_cores}-core GPU bin, not the catalog entry's part"))
            continue
        t = m.test
        notes = []
        if t.protocol == "localscore":
            notes.append("LocalScore (llamafile) suite mean of 9 tests (prompts 16-4096, generations 16-3072); "
                         "test and depth give the suite's mean sizes")
        elif t.kind == "tg":
            notes.append(f"llama-bench tg{t.n}" + (f" after {t.depth} cached tokens" if t.depth else
                                                     " from an empty context"))
        else:
            notes.append(f"llama-bench pp{t.n}" + (f" after {t.depth} cached tokens" if t.depth else ""))
        notes.extend(m.notes)
        label = m.row["model"].strip()
        if label not in notes[-1]:
            notes.append(f"measured model: {label}")
        rec = {
            "model": m.model, "quant": m.quant, "hardware": m.hardware, "count": m.count,
            "backend": m.backend, "runtime": "llama.cpp", "test": f"{t.kind}{t.n}",
            "tok_s": float(m.row["tok_s"]), "depth": t.depth, "notes": "; ".join(notes),
            "source": m.row["source"].strip(),
        }
        records.append(rec)
    return records, left_out


def write_benchmarks(records: list[dict], path: Path) -> None:
    import yaml

    header = (
        "# Curated llama.cpp measurements (BenchmarkRecord, catalog/schemas.py).\n"
        "# Generated by `python bench/accuracy/calibrate_speed.py --write-benchmarks` from\n"
        "# shared/calibration/throughput.csv: every row that maps to catalog ids (see\n"
        "# bench/accuracy/speed_rows.py for the mapping and docs/ACCURACY.md for what was left out).\n"
        f"# LocalScore rows: see {LOCALSCORE_SOURCE} for the test suite.\n"
    )
    body = yaml.safe_dump(records, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text(header + body, encoding="utf-8")


# ------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-benchmarks", action="store_true",
                    help="regenerate catalog/data/benchmarks.yaml from the mapped rows")
    ap.add_argument("--quiet", action="store_true", help="no per-row table")
    args = ap.parse_args(argv)
    t0 = time.time()

    cat = load_catalog(check_references=False)
    mapped, skipped = load_rows(cat)
    print(f"{csv_path()}: {len(mapped) + len(skipped)} rows, {len(mapped)} mapped, "
          f"{len(skipped)} skipped")

    tg = [m for m in mapped if m.test.kind == "tg"]
    pp = [m for m in mapped if m.test.kind == "pp"]
    d_rows, d_drop = decode_bases(tg, cat)
    p_rows, p_drop = prefill_bases(pp, cat)

    # ---- decode fit, per backend
    by_backend: dict[str, list[Row]] = {}
    for r in d_rows:
        by_backend.setdefault(r.m.backend, []).append(r)
    fitted_decode: dict[str, tuple[float, float]] = {}
    how: dict[str, str] = {}
    order = sorted(by_backend, key=lambda b: -len(by_backend[b]))
    prior = None
    for b in order:
        eff, fixed, h = fit_decode(by_backend[b], prior)
        fitted_decode[b] = (rounded(eff, 0.005), rounded(fixed, 0.05))
        how[b] = f"{h}, {len(by_backend[b])} rows"
        if prior is None:
            prior = rounded(fixed, 0.05)  # the best-sampled backend's fixed cost for thin ones

    # ---- prefill fit, per backend (Metal: TFLOPS per core at a fixed efficiency)
    p_by: dict[str, list[Row]] = {}
    for r in p_rows:
        p_by.setdefault(r.m.backend, []).append(r)
    fitted_prefill: dict[str, float] = {}
    fitted_apple = None
    for b, rows in p_by.items():
        k = fit_prefill(rows)
        if b == "metal":
            fitted_apple = rounded(k / METAL_PREFILL_EFFICIENCY, 0.005)
            fitted_prefill[b] = METAL_PREFILL_EFFICIENCY
        else:
            fitted_prefill[b] = rounded(k, 0.005)

    # ---- ranges: 10th / 90th percentile of measured / predicted with the fitted constants
    d_items = []
    for r in d_rows:
        e, f = fitted_decode[r.m.backend]
        d_items.append((r.m, float(decode_pred([r], e, f)[0])))
    p_items = []
    for r in p_rows:
        k = fitted_prefill[r.m.backend] * (fitted_apple if r.m.backend == "metal" else 1.0)
        p_items.append((r.m, k * float(np.mean(r.base))))
    d_ratio = [m.tok_s / p for m, p in d_items]
    p_ratio = [m.tok_s / p for m, p in p_items]
    fitted_drange = (rounded(pct(d_ratio, 10), 0.01), rounded(pct(d_ratio, 90), 0.01))
    fitted_prange = (rounded(pct(p_ratio, 10), 0.01), rounded(pct(p_ratio, 90), 0.01))

    print("\nFitted constants (paste into bot/estimator/speed.py; backends without rows keep theirs):")
    for b in sorted(fitted_decode):
        print(f"  DECODE_CALIBRATION[{b!r}] = {fitted_decode[b]}   # {how[b]}")
    for b in sorted(fitted_prefill):
        n = len(p_by[b])
        print(f"  PREFILL_EFFICIENCY[{b!r}] = {fitted_prefill[b]}   # {n} rows"
              + (" (held; Apple TFLOPS/core fitted)" if b == "metal" else ""))
    if fitted_apple is not None:
        print(f"  APPLE_TFLOPS_PER_CORE = {fitted_apple}")
    print(f"  DECODE_RANGE = {fitted_drange}")
    print(f"  PREFILL_RANGE = {fitted_prange}")
    print_figures("fit, decode:", error_figures(d_items))
    print_figures("fit, prefill:", error_figures(p_items))

    # ---- the shipped constants, through the unpatched estimator
    shipped = {
        "DECODE_CALIBRATION": dict(speed_mod.DECODE_CALIBRATION),
        "PREFILL_EFFICIENCY": dict(speed_mod.PREFILL_EFFICIENCY),
        "APPLE_TFLOPS_PER_CORE": fit_mod.APPLE_TFLOPS_PER_CORE,
        "DECODE_RANGE": speed_mod.DECODE_RANGE, "PREFILL_RANGE": fit_mod.PREFILL_RANGE,
    }
    drift = [b for b in fitted_decode if tuple(shipped["DECODE_CALIBRATION"].get(b, ())) != fitted_decode[b]]
    drift += [b for b in fitted_prefill if shipped["PREFILL_EFFICIENCY"].get(b) != fitted_prefill[b]]
    if fitted_apple is not None and shipped["APPLE_TFLOPS_PER_CORE"] != fitted_apple:
        drift.append("APPLE_TFLOPS_PER_CORE")
    if tuple(shipped["DECODE_RANGE"]) != fitted_drange or tuple(shipped["PREFILL_RANGE"]) != fitted_prange:
        drift.append("ranges")

    usable_d = {id(r.m) for r in d_rows}
    usable_p = {id(r.m) for r in p_rows}
    table, s_dec, s_pre = [], [], []
    for m in mapped:
        if id(m) not in usable_d and id(m) not in usable_p:
            continue
        pred, fits = predict(m, cat)
        if pred is None:
            continue
        (s_dec if m.test.kind == "tg" else s_pre).append((m, pred))
        table.append((m, pred, fits))

    if not args.quiet:
        print("\nPer row (shipped constants; ratio = predicted / measured):")
        print(f"  {'row':>4} {'model / quant / hardware / backend':58s} {'test':14s} "
              f"{'meas':>8} {'pred':>8} {'ratio':>6}  in-range")
        for m, pred, fits in table:
            rng = shipped["DECODE_RANGE"] if m.test.kind == "tg" else shipped["PREFILL_RANGE"]
            inside = pred * rng[0] <= m.tok_s <= pred * rng[1]
            print(f"  {m.index + 2:4d} {m.label[:58]:58s} {fmt_test(m):14s} {m.tok_s:8.1f} {pred:8.1f} "
                  f"{pred / m.tok_s:6.2f}  {'yes' if inside else 'NO'}")
        print("  (row = line number in throughput.csv; LS = LocalScore suite mean)")

    print("\nRows not used:")
    for s in skipped:
        r = s.row
        print(f"  {s.index + 2:4d} {r['model'][:26]:26s} {r['hardware'][:40]:40s} {r['test'][:22]:22s} {s.reason}")
    for m, why in d_drop + p_drop:
        print(f"  {m.index + 2:4d} {m.label[:67]:67s} {fmt_test(m):22s} {why}")

    print("\nWhere the estimator is systematically off (median predicted / measured, shipped constants):")
    for kind, items in (("decode", s_dec), ("prefill", s_pre)):
        g = residual_groups(items, cat)
        cells = [f"{k} {np.median(v):.2f} (n={len(v)})" for k, v in sorted(g.items())]
        print(f"  {kind}: " + "; ".join(cells))
    print("\nDepth: measured / estimated speed relative to the shallowest test of the same set-up:")
    for line in depth_check(mapped, cat):
        print(line)

    dec, pre = error_figures(s_dec), error_figures(s_pre)
    cover_d = np.mean([m.tok_s / p >= shipped["DECODE_RANGE"][0] and m.tok_s / p <= shipped["DECODE_RANGE"][1]
                       for m, p in s_dec]) if s_dec else float("nan")
    cover_p = np.mean([m.tok_s / p >= shipped["PREFILL_RANGE"][0] and m.tok_s / p <= shipped["PREFILL_RANGE"][1]
                       for m, p in s_pre]) if s_pre else float("nan")
    print("\nShipped constants (bot/estimator/speed.py), unpatched estimator:")
    print_figures("decode (expected tok/s):", dec)
    print_figures("prefill (expected tok/s):", pre)
    print(f"  measured inside [low, high]: decode {cover_d * 100:.0f}%, prefill {cover_p * 100:.0f}%")
    if drift:
        print(f"  NOTE: speed.py differs from this fit in: {', '.join(sorted(set(drift)))}")

    if args.write_benchmarks:
        records, left_out = benchmark_records(mapped)
        path = REPO / "catalog" / "data" / "benchmarks.yaml"
        write_benchmarks(records, path)
        print(f"\nwrote {len(records)} records to {path.relative_to(REPO)}")
        for m, why in left_out:
            print(f"  left out row {m.index + 2}: {why}")

    print(f"\n{dt.date.today().isoformat()}, {time.time() - t0:.1f} s")
    if not s_dec:
        print("FAIL: no decode rows could be evaluated")
        return 1
    med = dec["all"][1]
    if med >= TARGET_MEDIAN_DECODE_ERROR:
        print(f"FAIL: median decode error {med * 100:.1f}% >= {TARGET_MEDIAN_DECODE_ERROR * 100:.0f}%")
        return 1
    print(f"OK: median decode error {med * 100:.1f}% < {TARGET_MEDIAN_DECODE_ERROR * 100:.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
