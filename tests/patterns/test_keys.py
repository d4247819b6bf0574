"""``key=`` is validated one way by every pattern (one key mapper)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from cachewright import Cache, MemoryBackend
from cachewright.errors import ConfigurationError, InvalidKey
from cachewright.patterns import CacheAside, MemoryWriteQueue, WriteBehind, WriteThrough
from cachewright.stores import MemoryStore


@pytest.fixture
async def cache() -> AsyncIterator[Cache]:
    async with Cache(MemoryBackend(), namespace="keys") as cache:
        yield cache


async def _load(key: int) -> int:
    return key


def _aside(cache: Cache, key: Any) -> Any:
    return CacheAside(cache, loader=_load, key=key, type=int)


def _through(cache: Cache, key: Any) -> Any:
    return WriteThrough(cache, MemoryStore[int, int](), key=key, type=int)


def _behind(cache: Cache, key: Any) -> Any:
    return WriteBehind(cache, MemoryStore[int, int](), key=key, type=int, queue=MemoryWriteQueue())


PATTERNS = [_aside, _through, _behind]


@pytest.mark.parametrize("make", PATTERNS)
@pytest.mark.parametrize("key", ["user", "user:{}:{}", "user:{id}", "user:{1}", 42])
async def test_every_pattern_refuses_the_same_bad_key_formats(
    cache: Cache, make: Callable[[Cache, Any], Any], key: Any
) -> None:
    with pytest.raises(ConfigurationError):
        make(cache, key)


@pytest.mark.parametrize("make", PATTERNS)
@pytest.mark.parametrize("key", ["user:{}", "user:{0}", lambda k: f"user:{k}"])
async def test_every_pattern_maps_a_good_key_the_same_way(
    cache: Cache, make: Callable[[Cache, Any], Any], key: Any
) -> None:
    pattern = make(cache, key)
    await pattern.set(7, 70)
    assert await cache.get("user:7", int) == 70
    if isinstance(pattern, WriteBehind):
        await pattern.close()


@pytest.mark.parametrize("make", PATTERNS)
async def test_every_pattern_refuses_a_key_function_that_returns_no_str(
    cache: Cache, make: Callable[[Cache, Any], Any]
) -> None:
    pattern = make(cache, lambda k: k)
    with pytest.raises(InvalidKey):
        await pattern.set(7, 70)
    if isinstance(pattern, WriteBehind):
        await pattern.close()
