"""lazy_exports: a name is imported when first asked for, then kept; others are errors."""

from __future__ import annotations

import sys
import types

import pytest

from bot.lazy import lazy_exports


def test_names_load_on_first_use_and_stay(monkeypatch):
    package = types.ModuleType("lazypkg_under_test")
    package.__path__ = []  # a package, so relative imports resolve against it
    monkeypatch.setitem(sys.modules, "lazypkg_under_test", package)
    monkeypatch.setitem(sys.modules, "lazypkg_under_test.impl", types.SimpleNamespace(answer=42))
    package.__getattr__, package.__dir__ = lazy_exports("lazypkg_under_test", {"answer": ".impl"})
    assert "answer" in package.__dir__()
    assert "answer" not in vars(package)
    assert package.answer == 42
    assert vars(package)["answer"] == 42          # kept: the next access is a plain attribute
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        package.missing  # noqa: B018
