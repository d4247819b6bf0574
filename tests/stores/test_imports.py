"""The public surface of ``cachewright.stores``: names, ``__all__``, the lazy SQLStore."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

import cachewright.stores

PUBLIC_MODULES = [
    "cachewright.stores",
    "cachewright.stores.base",
    "cachewright.stores.functions",
    "cachewright.stores.memory",
    "cachewright.stores.sql",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_every_name_exists(name: str) -> None:
    module = importlib.import_module(name)

    assert module.__all__ == sorted(module.__all__)
    for public in module.__all__:
        assert getattr(module, public) is not None


def test_the_package_exports_the_store_names() -> None:
    assert cachewright.stores.__all__ == [
        "BaseStore",
        "CheckedStore",
        "DataStore",
        "FunctionStore",
        "MemoryStore",
        "SQLStore",
        "store_from_functions",
    ]
    from cachewright.stores.sql import SQLStore

    assert cachewright.stores.SQLStore is SQLStore


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchStore"):
        _ = cachewright.stores.NoSuchStore


def test_memory_store_works_without_sqlalchemy_and_sqlstore_says_what_to_install() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["sqlalchemy"] = None  # as if the sql extra were not installed
        from cachewright.errors import ConfigurationError
        from cachewright.stores import MemoryStore

        async def main():
            store = MemoryStore()
            await store.set(1, "one")
            assert await store.get(1) == "one"
        asyncio.run(main())

        try:
            from cachewright.stores import SQLStore
        except ConfigurationError as exc:
            assert "cachewright[sql]" in str(exc), exc
            print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
