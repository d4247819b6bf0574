"""The public surface: one re-export point, complete and sorted, and a light import."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import cachewright
import cachewright.cache
import cachewright.cache.local
import cachewright.patterns
import cachewright.patterns.aside
import cachewright.patterns.write_behind
import cachewright.stores


@pytest.mark.parametrize(
    "module",
    [
        cachewright,
        cachewright.cache,
        cachewright.cache.local,
        cachewright.patterns,
        cachewright.patterns.aside,
        cachewright.patterns.write_behind,
        cachewright.stores,
    ],
)
def test_all_is_sorted_and_resolves(module: ModuleType) -> None:
    names = list(module.__all__)
    assert names == sorted(names)
    for name in names:
        assert getattr(module, name) is not None


def test_design_names_are_exported() -> None:
    for name in ["Cache", "CacheAside", "WriteThrough", "WriteBehind", "Settings", "cached"]:
        assert name in cachewright.__all__
    for name in ["DataStore", "MemoryStore", "SQLStore"]:
        assert name in cachewright.stores.__all__


def test_import_needs_no_optional_extra() -> None:
    code = (
        "import sys, cachewright\n"
        "extras = ('sqlalchemy', 'typer', 'rich')  # redis-py itself imports otel if present\n"
        "heavy = [m for m in extras if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_public_name_has_a_docstring() -> None:
    for name in cachewright.__all__:
        obj = getattr(cachewright, name)
        if isinstance(obj, type | ModuleType) or callable(obj):
            assert obj.__doc__, name
