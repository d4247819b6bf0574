"""BaseStore: batch methods for a store that only has get/set/delete."""

from __future__ import annotations

import asyncio

import pytest

from cachewright.stores import BaseStore, DataStore

LIMIT = BaseStore.batch_concurrency


class GatedStore(BaseStore[int, str]):
    """Every call waits until ``LIMIT`` calls are in flight: proves bounded concurrency."""

    def __init__(self) -> None:
        self.rows: dict[int, str] = {}
        self.in_flight = 0
        self.peak = 0
        self.full = asyncio.Event()

    async def _enter(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.in_flight == LIMIT:
            self.full.set()
        await self.full.wait()
        self.in_flight -= 1

    async def get(self, key: int) -> str | None:
        await self._enter()
        return self.rows.get(key)

    async def set(self, key: int, value: str) -> None:
        await self._enter()
        self.rows[key] = value

    async def delete(self, key: int) -> None:
        await self._enter()
        self.rows.pop(key, None)


class FailingStore(BaseStore[int, int]):
    def __init__(self) -> None:
        self.started: list[int] = []
        self.cancelled: list[int] = []

    async def get(self, key: int) -> int | None:
        self.started.append(key)
        if key == 3:
            raise LookupError("key 3 is broken")
        try:
            await asyncio.Event().wait()  # never set: only cancellation ends it
        except asyncio.CancelledError:
            self.cancelled.append(key)
            raise
        return key

    async def set(self, key: int, value: int) -> None:
        raise NotImplementedError

    async def delete(self, key: int) -> None:
        raise NotImplementedError


async def test_batches_run_concurrently_but_never_more_than_the_limit() -> None:
    store = GatedStore()
    async with asyncio.timeout(5):  # a sequential implementation would wait forever
        await store.set_many({n: f"v{n}" for n in range(100)})
        hits = await store.get_many(list(range(50, 150)))
        await store.delete_many(list(range(0, 100, 2)))

    assert store.peak == LIMIT
    assert hits == {n: f"v{n}" for n in range(50, 100)}
    assert sorted(store.rows) == list(range(1, 100, 2))
    assert isinstance(store, DataStore)


async def test_the_first_failure_is_raised_as_is_and_the_rest_cancelled() -> None:
    store = FailingStore()

    with pytest.raises(LookupError, match="key 3 is broken"):
        await store.get_many(list(range(40)))

    assert store.started == list(range(LIMIT))  # the bound held
    assert sorted(store.cancelled) == [n for n in range(LIMIT) if n != 3]


async def test_sequential_batches_with_a_limit_of_one() -> None:
    order: list[int] = []
    in_flight: list[int] = []

    class Sequential(BaseStore[int, int]):
        batch_concurrency = 1

        async def get(self, key: int) -> int | None:
            return None

        async def set(self, key: int, value: int) -> None:
            in_flight.append(key)
            assert in_flight == [key], f"set({key}) overlaps {in_flight}"
            # Suspend once, as real I/O would; a concurrent batch would start another set.
            await asyncio.sleep(0)
            in_flight.remove(key)
            order.append(key)

        async def delete(self, key: int) -> None:
            return None

    await Sequential().set_many({n: n for n in range(20)})

    assert order == list(range(20))
