"""How much memory a device really offers a model, and what each backend costs per device.

These are modelling rules, not measurements of a user's machine; each is returned with the
sentence that states it, so a verdict can list its assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.resolve import Device
from catalog.schemas import HardwareSpec

GIB = 1024**3

# Memory a discrete GPU keeps for the driver and, on a desktop, the display: our assumption.
DISPLAY_RESERVE_GIB = 0.5
# Per-GPU cost of the compute backend itself (context, kernels, library workspaces) that
# llama.cpp's buffer logs do not show: our assumption per backend.
BACKEND_OVERHEAD_GIB = {"cuda": 0.35, "rocm": 0.35, "vulkan": 0.25, "sycl": 0.3, "metal": 0.0, "cpu": 0.0}
# Memory the OS and other programs keep on a unified-memory or CPU-only machine.
OS_RESERVE_GIB = 4.0


@dataclass(frozen=True)
class DeviceBudget:
    label: str
    total_bytes: int
    usable_bytes: int
    overhead_bytes: int
    bandwidth_gbps: float
    tflops: float | None
    is_gpu: bool
    rule: str


def apple_working_set_gib(memory_gib: float) -> float:
    """macOS's default GPU working-set limit (recommendedMaxWorkingSetSize).

    Read off llama.cpp Metal logs: 8 GB M1 -> 5726.63 MB (2/3), 64 GB -> 51539.61 MB and 192 GB
    -> 154618.82 MB (3/4). Rule: 2/3 of memory up to 36 GB, 3/4 above. Users raise it with
    ``sudo sysctl iogpu.wired_limit_mb=N``.
    """
    return memory_gib * (2 / 3 if memory_gib <= 36 else 3 / 4)


def usable_bytes(spec: HardwareSpec, memory_gib: float, wired_limit_gib: float | None = None) -> int:
    """What one device offers a model, in bytes (the rules ``device_budgets`` states)."""
    if spec.kind == "discrete_gpu":
        return int(memory_gib * GIB) - int(DISPLAY_RESERVE_GIB * GIB)
    if spec.vendor == "apple":
        limit = wired_limit_gib or apple_working_set_gib(memory_gib)
        return int(min(limit, memory_gib) * GIB)
    return int(memory_gib * GIB) - int(OS_RESERVE_GIB * GIB)


def overhead_bytes(backend: str) -> int:
    return int(BACKEND_OVERHEAD_GIB.get(backend, 0.0) * GIB)


def device_budgets(devices: tuple[Device, ...], backend: str,
                   wired_limit_gib: float | None = None) -> list[DeviceBudget]:
    """One budget per physical device (a count of 2 gives two budgets: never one pool)."""
    out: list[DeviceBudget] = []
    overhead = overhead_bytes(backend)
    for d in devices:
        spec = d.spec
        total = int(d.memory_gib * GIB)
        usable = usable_bytes(spec, d.memory_gib, wired_limit_gib)
        if spec.kind == "discrete_gpu":
            rule = f"{spec.name}: {d.memory_gib:g} GiB less {DISPLAY_RESERVE_GIB} GiB for driver/display"
        elif spec.vendor == "apple":
            limit = wired_limit_gib or apple_working_set_gib(d.memory_gib)
            how = "iogpu.wired_limit_mb override" if wired_limit_gib else "macOS default GPU limit"
            rule = f"{spec.name}: {limit:.1f} of {d.memory_gib:g} GiB ({how})"
        else:
            rule = f"{spec.name}: {d.memory_gib:g} GiB less {OS_RESERVE_GIB:g} GiB for the OS"
        for _ in range(d.count):
            out.append(DeviceBudget(spec.name, total, usable, overhead, spec.memory_bandwidth_gbps,
                                    spec.fp16_tensor_tflops, spec.kind != "cpu", rule))
    return out
