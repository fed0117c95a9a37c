"""Every data file is valid, sourced, cross-referenced, and meets the counts the bot promises."""

import re
import shutil
from pathlib import Path

import pytest

from catalog.loader import DATA_DIR, CatalogError, get_catalog, load_catalog
from catalog.lookup import normalize

CAT = get_catalog()


def test_counts_meet_minimums():
    """The catalog holds at least the counts issue #2 and #4 ask for."""
    c = CAT.counts()
    assert c["models"] >= 60
    assert c["hardware"] >= 80
    assert c["glossary"] >= 150
    assert c["errors"] >= 40
    assert c["quick_answers"] >= 20


@pytest.mark.parametrize("kind", ["models", "hardware", "runtimes", "glossary"])
def test_aliases_unique_within_kind(kind):
    """No alias (after normalisation) points at two entries of the same kind."""
    owners: dict[str, str] = {}
    for entry in getattr(CAT, kind).values():
        names = {normalize(a) for a in getattr(entry, "aliases", [])} | {normalize(entry.id)}
        for key in names:
            assert owners.setdefault(key, entry.id) == entry.id, f"{key!r}: {owners[key]} and {entry.id}"


def test_every_fact_has_https_source():
    """Models, hardware, runtimes and quant types cite an https source."""
    for table in (CAT.models, CAT.hardware, CAT.runtimes, CAT.ggml_types, CAT.quants):
        for e in table.values():
            assert e.source.startswith("https://")


def test_error_examples_match_their_patterns():
    """Each errors-KB example is recognised by its own entry's patterns."""
    for e in CAT.errors.values():
        for ex in e.examples:
            assert any(re.search(p, ex, re.I) for p in e.patterns), (e.id, ex)


def test_glossary_placeholders_render():
    """Numbers in prose come from the estimator: every placeholder renders."""
    from bot.content import PLACEHOLDER_RE, render

    for g in CAT.glossary.values():
        for text in (g.definition, g.deep_dive, g.example):
            out = render(text, CAT)
            assert not PLACEHOLDER_RE.search(out), g.id


def test_models_architecture_consistent():
    """Active parameters only for MoE, and MLA models carry their latent sizes."""
    for m in CAT.models.values():
        a = m.architecture
        assert (m.params_active_b is not None) == (a.moe is not None), m.id
        assert a.num_attention_heads % a.num_kv_heads == 0


def _copy_data(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst


def test_malformed_file_names_file_entry_and_field(tmp_path):
    """A bad value stops loading with a message naming the file, the entry and the field."""
    data = _copy_data(tmp_path)
    path = data / "hardware" / "nvidia-geforce.yaml"
    text = path.read_text()
    path.write_text(text.replace("memory_bandwidth_gbps: 936", "memory_bandwidth_gbps: -1", 1))
    with pytest.raises(CatalogError) as err:
        load_catalog(data)
    msg = str(err.value)
    assert "nvidia-geforce.yaml" in msg and "rtx-3090" in msg and "memory_bandwidth_gbps" in msg


def test_unknown_key_is_an_error(tmp_path):
    """Strict schemas: a misspelled key is rejected, not ignored."""
    data = _copy_data(tmp_path)
    path = data / "runtimes.yaml"
    path.write_text(path.read_text().replace("homepage:", "homepag:", 1))
    with pytest.raises(CatalogError, match="homepag"):
        load_catalog(data)


def test_missing_or_corrupt_file_stops_loading(tmp_path):
    """A missing or unparsable file is a clear error, never a half-loaded catalog."""
    data = _copy_data(tmp_path)
    (data / "quants.yaml").unlink()
    with pytest.raises(CatalogError, match="missing"):
        load_catalog(data)
    data2 = _copy_data(tmp_path / "b")
    (data2 / "runtimes.yaml").write_text("- id: [unclosed\n")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(data2)
