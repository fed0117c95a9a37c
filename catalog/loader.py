"""Load and cross-check the catalog's YAML data, once, into an immutable :class:`Catalog`.

A malformed file stops loading with a :class:`CatalogError` that names the file, the entry and
the field, so the bot never runs half-loaded.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from catalog.schemas import (
    ApiPrice,
    BenchmarkRecord,
    ErrorEntry,
    GgmlType,
    GlossaryEntry,
    HardwareSpec,
    ModelSpec,
    QuantCatalog,
    QuantPreset,
    QuickAnswer,
    RuntimeSpec,
)

DATA_DIR = Path(__file__).parent / "data"
T = TypeVar("T", bound=BaseModel)


class CatalogError(Exception):
    """A data file is missing, unreadable or invalid; the message says where and why."""


def _read_yaml(path: Path) -> Any:
    # Imported here: a start-up that finds the pickled catalog (below) parses no YAML at all.
    import yaml

    # libyaml's safe loader when PyYAML was built with it (about 10x faster), else the Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
    except FileNotFoundError as exc:
        raise CatalogError(f"{path}: catalog file is missing") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc


def _validate(schema: type[T], raw: Any, path: Path, label: str) -> T:
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(entry)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise CatalogError(f"{path}: entry {label}: field {loc}: {first['msg']}{more}") from exc


def _load_list(schema: type[T], paths: Iterable[Path]) -> list[T]:
    entries: list[T] = []
    for path in paths:
        raw = _read_yaml(path)
        if raw is None:
            continue
        if not isinstance(raw, list):
            raise CatalogError(f"{path}: expected a list of entries, got {type(raw).__name__}")
        for index, item in enumerate(raw):
            label = str(item.get("id", f"#{index}")) if isinstance(item, dict) else f"#{index}"
            entries.append(_validate(schema, item, path, label))
    return entries


def _folder(name: str, data_dir: Path) -> list[Path]:
    folder = data_dir / name
    if not folder.is_dir():
        raise CatalogError(f"{folder}: catalog folder is missing")
    return sorted(folder.glob("*.yaml"))


def _index(entries: list[T], kind: str) -> dict[str, T]:
    out: dict[str, T] = {}
    for e in entries:
        key = e.id  # type: ignore[attr-defined]
        if key in out:
            raise CatalogError(f"{kind}: duplicate id {key!r}")
        out[key] = e
    return out


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelSpec]
    hardware: dict[str, HardwareSpec]
    runtimes: dict[str, RuntimeSpec]
    ggml_types: dict[str, GgmlType]
    quants: dict[str, QuantPreset]
    glossary: dict[str, GlossaryEntry]
    errors: dict[str, ErrorEntry]
    quick: dict[str, QuickAnswer]
    api_prices: dict[str, ApiPrice]
    benchmarks: list[BenchmarkRecord] = field(default_factory=list)

    @cached_property
    def block_sizes_key(self) -> tuple[tuple[str, int], ...]:
        """ggml block sizes as a hashable key for cached per-tensor typing."""
        return tuple(sorted((n, t.block_size) for n, t in self.ggml_types.items()))

    def counts(self) -> dict[str, int]:
        return {
            "models": len(self.models), "hardware": len(self.hardware),
            "runtimes": len(self.runtimes), "ggml_types": len(self.ggml_types),
            "quant_presets": len(self.quants), "glossary": len(self.glossary),
            "errors": len(self.errors), "quick_answers": len(self.quick),
            "api_prices": len(self.api_prices), "benchmarks": len(self.benchmarks),
        }


def _check_references(cat: Catalog) -> None:
    for e in cat.glossary.values():
        for ref in e.related:
            if ref not in cat.glossary:
                raise CatalogError(f"glossary: entry {e.id}: related term {ref!r} does not exist")
    for e in cat.errors.values():
        for ref in e.related:
            if ref not in cat.errors:
                raise CatalogError(f"errors: entry {e.id}: related entry {ref!r} does not exist")
    for q in cat.quants.values():
        if q.base_type is not None and q.base_type not in cat.ggml_types:
            raise CatalogError(f"quants: preset {q.id}: base_type {q.base_type!r} is not a ggml type")
        for r in q.runtimes:
            if r not in cat.runtimes:
                raise CatalogError(f"quants: preset {q.id}: runtime {r!r} is not in runtimes.yaml")
    for b in cat.benchmarks:
        for kind, key, table in (("model", b.model, cat.models), ("hardware", b.hardware, cat.hardware),
                                 ("runtime", b.runtime, cat.runtimes)):
            if key not in table:
                raise CatalogError(f"benchmarks: record {b.model}/{b.hardware}: unknown {kind} {key!r}")


def load_catalog(data_dir: Path = DATA_DIR, *, check_references: bool = True) -> Catalog:
    """Read every data file under ``data_dir``, validate it and check cross-references."""
    quant_raw = _read_yaml(data_dir / "quants.yaml")
    quants = _validate(QuantCatalog, quant_raw, data_dir / "quants.yaml", "(file)")
    bench_path = data_dir / "benchmarks.yaml"
    cat = Catalog(
        models=_index(_load_list(ModelSpec, _folder("models", data_dir)), "models"),
        hardware=_index(_load_list(HardwareSpec, _folder("hardware", data_dir)), "hardware"),
        runtimes=_index(_load_list(RuntimeSpec, [data_dir / "runtimes.yaml"]), "runtimes"),
        ggml_types={t.name: t for t in quants.ggml_types},
        quants=_index(quants.presets, "quants"),
        glossary=_index(_load_list(GlossaryEntry, _folder("glossary", data_dir)), "glossary"),
        errors=_index(_load_list(ErrorEntry, _folder("errors", data_dir)), "errors"),
        quick=_index(_load_list(QuickAnswer, _folder("quick", data_dir)), "quick"),
        api_prices=_index(_load_list(ApiPrice, [data_dir / "api_prices.yaml"]), "api_prices"),
        benchmarks=_load_list(BenchmarkRecord, [bench_path]) if bench_path.exists() else [],
    )
    if check_references:
        _check_references(cat)
    return cat


def _cache_path(data_dir: Path) -> Path | None:
    """Where a validated copy of this exact data lives: keyed by every data file's name, size
    and modification time, and by the schemas' and loader's own source."""
    root = os.environ.get("RUNLOCALAI_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "runlocalai")
    digest = hashlib.sha256()
    for path in sorted([*data_dir.rglob("*.yaml"), Path(__file__), Path(__file__).with_name("schemas.py")]):
        st = path.stat()
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns};".encode())
    return Path(root) / f"catalog-{digest.hexdigest()[:24]}.pickle"


def load_catalog_cached(data_dir: Path = DATA_DIR) -> Catalog:
    """``load_catalog`` behind a pickle of the validated result (start-up in milliseconds).

    Any change to a data file, the schemas or this loader changes the key, so a stale copy is
    never used; an unreadable cache is ignored and rewritten.
    """
    try:
        path = _cache_path(data_dir)
    except OSError:
        path = None
    if path is not None and path.exists():
        try:
            with path.open("rb") as fh:
                cached = pickle.load(fh)
            if isinstance(cached, Catalog):
                return cached
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt below
            pass
    cat = load_catalog(data_dir)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(cat, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: run without the cache
    return cat


_CATALOG: Catalog | None = None


def get_catalog() -> Catalog:
    """The process-wide catalog, loaded on first use."""
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = load_catalog_cached()
    return _CATALOG
