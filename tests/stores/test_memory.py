"""MemoryStore specifics: snapshots, copy semantics, the entry bound."""

from __future__ import annotations

import pytest

from cachewright.errors import ConfigurationError, StoreError
from cachewright.stores import MemoryStore
from tests.stores._models import Profile, profile


async def test_len_and_items_are_snapshots() -> None:
    store = MemoryStore[int, Profile]({1: profile(1)})
    await store.set(2, profile(2))

    snapshot = store.items()
    await store.delete(1)

    assert len(store) == 1
    assert snapshot == {1: profile(1), 2: profile(2)}
    assert store.items() == {2: profile(2)}
    assert repr(store) == "MemoryStore(entries=1)"


async def test_values_are_kept_by_reference_by_default() -> None:
    store = MemoryStore[str, Profile]()
    value = profile(1)
    await store.set("k", value)

    value.tags.append("changed after set")

    assert await store.get("k") is value


async def test_copy_values_isolates_the_store_like_a_database() -> None:
    store = MemoryStore[str, Profile](copy_values=True)
    value = profile(1)
    await store.set("k", value)
    value.tags.append("changed after set")

    read = await store.get("k")
    assert read == profile(1)
    assert read is not None
    read.tags.append("changed after get")
    assert await store.get("k") == profile(1)
    assert (await store.get_many(["k"]))["k"] == profile(1)


async def test_max_entries_refuses_a_write_past_the_bound_and_writes_nothing() -> None:
    store = MemoryStore[int, int](max_entries=3)
    await store.set_many({1: 1, 2: 2})

    with pytest.raises(StoreError, match="max_entries=3"):
        await store.set_many({2: 20, 3: 3, 4: 4})
    assert store.items() == {1: 1, 2: 2}

    await store.set_many({2: 20, 3: 3})  # updates do not count against the bound
    with pytest.raises(StoreError):
        await store.set(4, 4)
    await store.delete(1)
    await store.set(4, 4)
    assert store.items() == {2: 20, 3: 3, 4: 4}


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        MemoryStore[int, int](max_entries=0)


async def test_async_with_and_close_are_harmless() -> None:
    async with MemoryStore[int, int]({1: 1}) as store:
        assert await store.get(1) == 1
    await store.close()
    assert await store.get(1) == 1
