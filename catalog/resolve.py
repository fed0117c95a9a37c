"""Lookup indexes over the loaded catalog, and resolution of hardware set-ups.

``Resolver`` is what the bot core asks "which model is 'llama3.1:70b'?" or "what is '2x 3090'?".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from catalog.gpu_db import long_tail
from catalog.loader import Catalog, get_catalog
from catalog.lookup import Index, Match, parse_setup
from catalog.schemas import (
    ApiPrice,
    ErrorEntry,
    GlossaryEntry,
    HardwareSpec,
    ModelSpec,
    QuantPreset,
    QuickAnswer,
    RuntimeSpec,
)


@dataclass(frozen=True)
class Device:
    """Hardware resolved for an estimate: a spec, how many, and which memory option."""

    spec: HardwareSpec
    count: int
    memory_gib: float

    @property
    def label(self) -> str:
        mem = f" {self.memory_gib:g}GB" if len(self.spec.memory_gib) > 1 else ""
        return f"{self.count}x {self.spec.name}{mem}" if self.count > 1 else f"{self.spec.name}{mem}"


@dataclass(frozen=True)
class SetupMatch:
    """A parsed set-up: devices when every part resolved, else the first part's problem."""

    query: str
    devices: tuple[Device, ...] = ()
    problem: Match[HardwareSpec] | None = None
    problem_text: str = ""

    @property
    def found(self) -> bool:
        return bool(self.devices) and self.problem is None


class Resolver:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @cached_property
    def models(self) -> Index[ModelSpec]:
        return Index(self.catalog.models.values(), key=lambda m: m.id,
                     names=lambda m: [m.name, m.hf_repo, m.hf_repo.split("/")[-1], *m.ollama_tags,
                                      *m.aliases],
                     label=lambda m: m.id)

    @cached_property
    def hardware(self) -> Index[HardwareSpec]:
        return Index(self.catalog.hardware.values(), key=lambda h: h.id,
                     names=lambda h: [h.name, *h.aliases], label=lambda h: h.id)

    @cached_property
    def runtimes(self) -> Index[RuntimeSpec]:
        return Index(self.catalog.runtimes.values(), key=lambda r: r.id,
                     names=lambda r: [r.name, *r.aliases], label=lambda r: r.id)

    @cached_property
    def quants(self) -> Index[QuantPreset]:
        return Index(self.catalog.quants.values(), key=lambda q: q.id,
                     names=lambda q: list(q.aliases), label=lambda q: q.id)

    @cached_property
    def glossary(self) -> Index[GlossaryEntry]:
        return Index(self.catalog.glossary.values(), key=lambda g: g.id,
                     names=lambda g: [g.term, *g.aliases], label=lambda g: g.term)

    @cached_property
    def errors(self) -> Index[ErrorEntry]:
        return Index(self.catalog.errors.values(), key=lambda e: e.id,
                     names=lambda e: [e.title], label=lambda e: e.id)

    @cached_property
    def quick(self) -> Index[QuickAnswer]:
        return Index(self.catalog.quick.values(), key=lambda q: q.id,
                     names=lambda q: [q.title, *q.aliases], label=lambda q: q.id)

    @cached_property
    def api_prices(self) -> Index[ApiPrice]:
        return Index(self.catalog.api_prices.values(), key=lambda p: p.id,
                     names=lambda p: [p.model, f"{p.provider} {p.model}", *p.aliases],
                     label=lambda p: p.id)

    def hardware_one(self, text: str, memory_gib: float | None = None) -> Match[HardwareSpec]:
        """One kind of device: curated first (full text, then without the memory words),
        then the TechPowerUp long tail."""
        m = self.hardware.resolve(text)
        if m.ambiguous and memory_gib is not None:
            fitting = [h for h in m.candidates if memory_gib in h.memory_gib]
            if len(fitting) == 1:
                return Match(text, entry=fitting[0])
        if m.found or m.ambiguous:
            return m
        tail = long_tail().resolve(text)
        if tail.found:
            return tail
        return Match(text, candidates=tail.candidates,
                     suggestions=m.suggestions or tail.suggestions)

    def setup(self, text: str) -> SetupMatch:
        """'2x 3090', 'm3 max 64gb', '4090 + 3090' -> devices with counts and memory options."""
        whole = self.hardware.resolve(text, suggest=False)   # only used when found
        if whole.found:
            spec = whole.entry
            assert spec is not None
            return SetupMatch(text, (Device(spec, 1, spec.memory_gib[-1]),))
        devices: list[Device] = []
        for part in parse_setup(text):
            m = self.hardware.resolve(part.text if part.memory_gib is None else
                                      f"{part.text} {part.memory_gib:g}gb", suggest=False)
            if not m.found:
                m = self.hardware_one(part.text, part.memory_gib)
            if not m.found:
                return SetupMatch(text, problem=m, problem_text=part.text)
            spec = m.entry
            assert spec is not None
            memory = spec.memory_gib[-1]
            if part.memory_gib is not None:
                if part.memory_gib not in spec.memory_gib:
                    options = ", ".join(f"{g:g}GB" for g in spec.memory_gib)
                    return SetupMatch(text, problem=Match(part.text, suggestions=(
                        f"{spec.name} comes with {options}",)), problem_text=part.text)
                memory = part.memory_gib
            devices.append(Device(spec, part.count, memory))
        return SetupMatch(text, tuple(devices))


_RESOLVER: Resolver | None = None


def get_resolver() -> Resolver:
    global _RESOLVER
    if _RESOLVER is None:
        _RESOLVER = Resolver(get_catalog())
    return _RESOLVER
