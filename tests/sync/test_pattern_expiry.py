"""The sync patterns take ``sliding`` and ``expires_at`` like their async twins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from cachewright import MemoryWriteQueue
from cachewright.sync import Cache, CacheAside, WriteBehind, WriteThrough, cached
from tests.stores._models import Profile, profile
from tests.sync._support import ProfileRepository

PATTERNS = ["CacheAside", "cached", "WriteThrough", "WriteBehind"]


def write_through(
    pattern: str,
    cache: Cache,
    repository: ProfileRepository,
    opened: list[Callable[[], object]],
    **expiry: object,
) -> Callable[[], object]:
    """A function writing key 1 (entry ``p:1``) through ``pattern``; what to close
    afterwards goes to ``opened``."""
    repository.set(1, profile(1))
    if pattern == "CacheAside":
        aside: CacheAside[int, Profile] = CacheAside(
            cache,
            loader=repository,
            key="p:{}",
            type=Profile,
            **expiry,  # type: ignore[arg-type]
        )
        opened.append(aside.close)
        return lambda: aside.get(1)
    if pattern == "cached":

        @cached(cache, key="p:{item_id}", type=Profile, **expiry)  # type: ignore[arg-type]
        def load(item_id: int) -> Profile | None:
            return repository.get(item_id)

        opened.append(load.close)
        return lambda: load(1)
    if pattern == "WriteThrough":
        through: WriteThrough[int, Profile] = WriteThrough(
            cache,
            repository,
            key="p:{}",
            type=Profile,
            **expiry,  # type: ignore[arg-type]
        )
        return lambda: through.set(1, profile(1))
    behind: WriteBehind[int, Profile] = WriteBehind(
        cache,
        repository,
        key="p:{}",
        type=Profile,
        queue=lambda: MemoryWriteQueue(100),  # the fast mode: writes fill the cache
        **expiry,  # type: ignore[arg-type]
    )
    opened.append(behind.close)
    return lambda: behind.set(1, profile(1))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_sync_patterns_write_sliding_entries(
    sync_cache: Cache, repository: ProfileRepository, pattern: str
) -> None:
    opened: list[Callable[[], object]] = []
    write = write_through(pattern, sync_cache, repository, opened, ttl=3600, sliding=30)
    try:
        write()
        left = sync_cache.ttl("p:1")
        assert left is not None
        assert left <= 30  # the window, not the hour
    finally:
        for close in opened:
            close()


@pytest.mark.parametrize("pattern", PATTERNS)
def test_sync_patterns_write_entries_ending_at_expires_at(
    sync_cache: Cache, repository: ProfileRepository, pattern: str
) -> None:
    until = datetime.now(UTC) + timedelta(seconds=30)
    opened: list[Callable[[], object]] = []
    write = write_through(pattern, sync_cache, repository, opened, ttl=3600, expires_at=until)
    try:
        write()
        left = sync_cache.ttl("p:1")
        assert left is not None
        assert left <= 30
    finally:
        for close in opened:
            close()
