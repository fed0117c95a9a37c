"""Every command, registered in one visible place."""

from __future__ import annotations

from functools import lru_cache

from bot.registry import Registry

from . import bench, bench_review, bestgpu, compare, costvscloud, define, meta, quick, specs, troubleshoot, willitrun


@lru_cache(maxsize=1)
def build_registry() -> Registry:
    registry = Registry()
    for command in (
        willitrun.COMMAND, define.COMMAND, troubleshoot.COMMAND, compare.COMMAND, bestgpu.COMMAND,
        costvscloud.COMMAND, specs.MODEL, specs.HARDWARE, specs.RUNTIME, bench.COMMAND, bench_review.COMMAND, quick.COMMAND,
    ):
        registry.add(command)
    for command in meta.build(lambda: iter(registry)):
        registry.add(command)
    return registry
