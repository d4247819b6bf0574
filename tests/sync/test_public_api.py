"""``cachewright.sync`` mirrors the async API: the same names, arguments and methods."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import cachewright
import cachewright.stores
import cachewright.sync
import cachewright.sync.stores

PAIRS = [
    (cachewright.sync.Cache, cachewright.Cache),
    (cachewright.sync.CacheAside, cachewright.CacheAside),
    (cachewright.sync.WriteThrough, cachewright.WriteThrough),
    (cachewright.sync.WriteBehind, cachewright.WriteBehind),
]

# Methods the sync classes leave out on purpose: the lease protocol patterns use
# internally, the async context protocol, and accessors of the async internals.
NOT_MIRRORED = {
    "lookup",
    "try_lease",
    "set_if_version",
    "get_many_entries",
    "shared_client",
    "backend",
    "keys",
    "metrics",
    "settings",
    "local",
    "queue",
    "watch_writes",  # the extension interface: read-your-writes fences for patterns
    "delete_after",  # the extension interface: the write-behind put, then the drop
    "fills",  # the extension interface: lock waits woken by the fill
}


@pytest.mark.parametrize("module", [cachewright.sync, cachewright.sync.stores])
def test_all_is_sorted_resolves_and_is_documented(module: object) -> None:
    names = list(module.__all__)  # type: ignore[attr-defined]
    assert names == sorted(names)
    for name in names:
        assert getattr(module, name).__doc__, name


def test_the_design_names_exist() -> None:
    for name in ["Cache", "CacheAside", "WriteThrough", "WriteBehind", "cached"]:
        assert name in cachewright.sync.__all__
    for name in ["DataStore", "MemoryStore", "SQLStore"]:
        assert name in cachewright.sync.stores.__all__


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=lambda c: c.__name__)
def test_same_constructor_arguments(sync: type, async_: type) -> None:
    def names(cls: type) -> list[str]:
        return list(inspect.signature(cls).parameters)

    assert names(sync) == names(async_)


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=lambda c: c.__name__)
def test_same_public_methods_with_the_same_arguments(sync: type, async_: type) -> None:
    for name, member in inspect.getmembers(async_):
        if name.startswith("_") or name in NOT_MIRRORED:
            continue
        assert hasattr(sync, name), f"{sync.__name__}.{name} is missing"
        if callable(member) and not isinstance(inspect.getattr_static(async_, name), property):
            assert inspect.signature(getattr(sync, name)).parameters.keys() == (
                inspect.signature(member).parameters.keys()
            ), name


def test_cached_takes_the_same_options() -> None:
    sync = inspect.signature(cachewright.sync.cached).parameters
    assert list(sync) == list(inspect.signature(cachewright.cached).parameters)


def test_import_starts_nothing_and_needs_no_extra() -> None:
    code = (
        "import sys, threading, cachewright.sync\n"
        "cache = cachewright.sync.Cache.from_url('memory://')\n"
        "print(threading.active_count(), 'sqlalchemy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False"]
    assert out.stderr == ""
