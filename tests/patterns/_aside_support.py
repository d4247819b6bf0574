"""Helpers for the cache-aside, @cached and warm-up tests: caches, counting, models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis
from pydantic import BaseModel

from cachewright import Cache, Settings
from cachewright.stores import MemoryStore
from tests._servers import RedisServer

__all__ = [
    "BACKENDS",
    "CountingStore",
    "Gate",
    "User",
    "command_counts",
    "command_delta",
    "open_cache",
]

BACKENDS = ["memory", "redis"]

#: commands a client sends when it connects (or a test sends to measure): not the
#: library's work, so they are left out of command budgets
# Connection set-up and INFO itself. Redis < 7.0 counts subcommands under their
# command, so a new connection's CLIENT SETINFO shows there as "cmdstat_client".
NOT_COUNTED = {
    "cmdstat_info",
    "cmdstat_client|setinfo",
    "cmdstat_client",
    "cmdstat_hello",
    "cmdstat_select",
}


class User(BaseModel):
    id: int
    name: str


@asynccontextmanager
async def open_cache(
    kind: str, namespace: str, request: pytest.FixtureRequest, **settings: Any
) -> AsyncIterator[Cache]:
    """A cache on memory or on the session's private Redis; cleared and closed after."""
    config = Settings(namespace=namespace, **settings)
    if kind == "memory":
        cache = Cache.from_url("memory://", settings=config)
    else:
        url: str = request.getfixturevalue("redis_url")
        cache = Cache.from_url(url, settings=config)
    try:
        yield cache
    finally:
        try:
            await cache.clear()
        finally:
            await cache.close()


def command_counts(server: RedisServer) -> dict[str, int]:
    """``INFO commandstats`` calls per command (script-internal calls included)."""
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        stats: Mapping[str, Mapping[str, int]] = client.info("commandstats")
        return {name: int(row["calls"]) for name, row in stats.items()}
    finally:
        client.close()


def command_delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Commands run between two snapshots, without connection set-up and INFO itself."""
    return {
        name: after[name] - before.get(name, 0)
        for name in after
        if name not in NOT_COUNTED and after[name] != before.get(name, 0)
    }


class Gate:
    """Lets a test hold a loader inside its load: ``entered`` is set when it arrives,
    and the load goes on when the test calls ``open()``."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self._open = asyncio.Event()

    def open(self) -> None:
        self._open.set()

    async def pass_through(self) -> None:
        self.entered.set()
        await self._open.wait()


class CountingStore(MemoryStore[int, User]):
    """A real MemoryStore that records its batch reads and how many ran at once."""

    def __init__(self, items: Mapping[int, User] | None = None) -> None:
        super().__init__(items)
        self.get_many_calls: list[list[int]] = []
        self.get_calls: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def _tracked(self, work: Callable[[], Awaitable[Any]]) -> Any:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let concurrent calls overlap, as real I/O would
            return await work()
        finally:
            self.in_flight -= 1

    async def get(self, key: int) -> User | None:
        self.get_calls.append(key)
        result: User | None = await self._tracked(lambda: super(CountingStore, self).get(key))
        return result

    async def get_many(self, keys: Sequence[int]) -> dict[int, User]:
        self.get_many_calls.append(list(keys))
        result: dict[int, User] = await self._tracked(
            lambda: super(CountingStore, self).get_many(keys)
        )
        return result
