"""``import cachewright`` is light: public names load on first use (PEP 562)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cachewright


def test_every_public_name_resolves_and_lazy_names_are_public() -> None:
    lazy = set(vars(cachewright)["_LAZY"])
    assert lazy <= set(cachewright.__all__)
    for name in cachewright.__all__:
        assert getattr(cachewright, name) is not None
    assert set(cachewright.__all__) <= set(dir(cachewright))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = cachewright.NoSuchThing


def test_import_loads_neither_redis_nor_pydantic_until_a_name_is_used() -> None:
    code = (
        "import sys, cachewright\n"
        "print(sorted(m for m in ('redis', 'pydantic', 'cachewright.cache') if m in sys.modules))\n"
        "cachewright.Cache\n"
        "print('cachewright.cache' in sys.modules)\n"
        "import cachewright as cw\n"
        "print(cw.stores.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True", "cachewright.stores"]
