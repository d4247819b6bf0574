"""Helpers for the write-through and write-behind tests: models, caches, stores, faults."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from tenacity import stop_after_attempt, wait_none

from cachewright import Cache, Settings
from cachewright.errors import StoreError, StoreUnavailable
from cachewright.patterns.write_behind._retry import RetryPolicy
from cachewright.stores import DataStore, MemoryStore, SQLStore
from tests._servers import RedisServer

__all__ = [
    "FAST_RETRY",
    "FaultyStore",
    "Item",
    "cache_for",
    "cache_url",
    "eventually",
    "store_for",
    "store_url",
]

K = TypeVar("K")
V = TypeVar("V")

#: retries without waiting: the tests are about what happens, not how long it takes
FAST_RETRY = RetryPolicy(stop=stop_after_attempt(3), wait=wait_none())


class Item(BaseModel):
    name: str
    n: int = 0


async def eventually(
    probe: Callable[[], Awaitable[object]], expect: object, *, within: float = 10.0
) -> None:
    """Poll ``probe()`` until it returns ``expect`` (a deadline, not a sleep to sync on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: object = None
    while loop.time() < deadline:
        last = await probe()
        if last == expect:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"expected {expect!r} within {within}s, last saw {last!r}")


def cache_url(kind: str, request: pytest.FixtureRequest) -> str:
    """``memory://`` or the session's private Redis. Call from a sync fixture: starting a
    server blocks, and fixtures that probe with ``asyncio.run`` need no running loop."""
    if kind == "memory":
        return "memory://"
    server: RedisServer = request.getfixturevalue("redis_server")
    if server.process is None or server.process.poll() is not None:
        server.start()
    return server.url


def store_url(kind: str, request: pytest.FixtureRequest) -> str | None:
    """None for a memory store, else the SQLite or PostgreSQL URL (sync, like the above)."""
    if kind == "memory":
        return None
    return str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url"))


@asynccontextmanager
async def cache_for(
    url: str, namespace: str, *, clear: bool = True, **settings: Any
) -> AsyncIterator[Cache]:
    """A cache on ``url``, cleared (unless the test killed its server) and closed after."""
    cache = Cache.from_url(url, settings=Settings(namespace=namespace, **settings))
    try:
        yield cache
    finally:
        if clear:
            await cache.clear()
        await cache.close()


@asynccontextmanager
async def store_for(url: str | None, namespace: str) -> AsyncIterator[DataStore[int, Item]]:
    """A store of ``Item`` by int key: memory (no URL) or SQL (its table dropped after)."""
    if url is None:
        yield MemoryStore[int, Item]()
        return
    store: SQLStore[int, Item] = SQLStore(url, namespace, type=Item, key_type=int)
    await store.create_table()
    try:
        yield store
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{namespace}"'))
        await store.close()


class FaultyStore(Generic[K, V]):
    """A real store with failures the test switches on and off.

    ``down``: every call raises ``StoreUnavailable``. ``poison``: writes that touch one
    of these keys raise ``StoreError`` (the whole batch, as a database would).
    ``jitter``: each write yields to the loop a random number of times, to widen race
    windows in concurrency tests (inside the store under test, never as test sync).
    """

    def __init__(self, inner: DataStore[K, V], *, jitter: int = 0, seed: int = 0) -> None:
        self.inner = inner
        self.down = False
        self.poison: set[K] = set()
        self.jitter = jitter
        self.write_calls = 0
        self.failed_calls = 0
        self._random = random.Random(seed)

    async def _gate(self, keys: Sequence[K]) -> None:
        for _ in range(self._random.randint(0, self.jitter) if self.jitter else 0):
            await asyncio.sleep(0)
        if self.down:
            self.failed_calls += 1
            raise StoreUnavailable("store switched off by the test")
        bad = self.poison.intersection(keys)
        if bad:
            self.failed_calls += 1
            raise StoreError(f"rejected keys {sorted(map(repr, bad))}")

    async def get(self, key: K) -> V | None:
        if self.down:
            raise StoreUnavailable("store switched off by the test")
        return await self.inner.get(key)

    async def set(self, key: K, value: V) -> None:
        self.write_calls += 1
        await self._gate([key])
        await self.inner.set(key, value)

    async def delete(self, key: K) -> None:
        self.write_calls += 1
        await self._gate([key])
        await self.inner.delete(key)

    async def exists(self, key: K) -> bool:
        if self.down:
            raise StoreUnavailable("store switched off by the test")
        return await self.inner.exists(key)

    async def get_many(self, keys: Sequence[K]) -> Mapping[K, V]:
        if self.down:
            raise StoreUnavailable("store switched off by the test")
        return await self.inner.get_many(keys)

    async def set_many(self, items: Mapping[K, V]) -> None:
        self.write_calls += 1
        await self._gate(list(items))
        await self.inner.set_many(items)

    async def delete_many(self, keys: Sequence[K]) -> None:
        self.write_calls += 1
        await self._gate(keys)
        await self.inner.delete_many(keys)
