"""Issue 19 on the sync API: hard_timeout, a threaded refresh_loader, events, recovery stats."""

from __future__ import annotations

import threading

import pytest

from cachewright import Entry, Event, EventKind, LoaderTimeout, NotModified, NotModifiedType
from cachewright.sync import Cache, CacheAside
from tests._servers import wait_until


def test_hard_timeout_raises_and_the_threaded_load_still_fills(sync_cache: Cache) -> None:
    release = threading.Event()
    events: list[Event] = []
    sync_cache.events.subscribe(events.append)

    def load(key: int) -> str:
        release.wait(30)
        return f"v{key}"

    values: CacheAside[int, str] = CacheAside(
        sync_cache, loader=load, key="k:{}", type=str, hard_timeout=0.05
    )
    with values:
        with pytest.raises(LoaderTimeout):
            values.get(1)
        release.set()
        wait_until(lambda: sync_cache.get("k:1") == "v1", timeout=10)
        assert values.get(1) == "v1"
    assert EventKind.LOADER_TIMEOUT in [event.kind for event in events]
    assert sync_cache.stats(server=False).recovery.pending == 0


def test_a_threaded_refresh_loader_answers_not_modified(sync_cache: Cache) -> None:
    seen: list[object] = []

    def refresh(key: int, stale: Entry[str]) -> str | NotModifiedType:
        seen.append(stale.value)
        return NotModified

    values: CacheAside[int, str] = CacheAside(
        sync_cache,
        loader=lambda key: "v1",
        refresh_loader=refresh,
        key="k:{}",
        type=str,
        ttl=0.05,
        stale_ttl=60,
    )
    with values:
        assert values.get(1) == "v1"
        wait_until(lambda: _stale(sync_cache, "k:1"), timeout=10)
        assert values.get(1) == "v1"  # stale: refreshed in the background
        wait_until(lambda: values.stats().extended == 1, timeout=10)
        assert seen == ["v1"]
        assert values.stats().fills == 1


def _stale(cache: Cache, key: str) -> bool:
    entry = cache.get_entry(key)
    return entry is not None and entry.stale
