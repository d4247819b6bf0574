"""``MemoryStore``: a real data store in process memory, for tests, demos and small apps.

Usage::

    from cachewright.stores import MemoryStore

    store = MemoryStore[int, User]()
    await store.set(1, alice)
    await store.get(1)                  # alice
    await store.get_many([1, 2])        # {1: alice}
    len(store), store.items()           # 1, {1: alice}   (synchronous snapshots)

    strict = MemoryStore[int, User](copy_values=True, max_entries=10_000)

Values are kept by reference, as a ``dict`` keeps them: copying on every call would cost
more than the store itself (a deep copy of a model is ~100x a dict lookup) and a shallow
copy would only pretend to isolate nested lists. Treat stored values as immutable, or
pass ``copy_values=True`` to deep-copy on the way in and out, which makes the store
behave like a database (mutating an object after ``set`` does not change what is
stored). ``max_entries`` bounds the store: a write that would add keys past it raises
``StoreError`` and writes nothing; a data store never evicts.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from cachewright.errors import ConfigurationError, StoreError
from cachewright.stores.base import BaseStore

__all__ = ["MemoryStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class MemoryStore(BaseStore[K, V], Generic[K, V]):
    """A ``dict`` behind an ``asyncio.Lock``; every batch is applied atomically.

    Usage: see the module docstring.
    """

    __slots__ = ("_copy_values", "_data", "_lock", "_max_entries")

    def __init__(
        self,
        items: Mapping[K, V] | None = None,
        *,
        copy_values: bool = False,
        max_entries: int | None = None,
    ) -> None:
        if max_entries is not None and max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1, got {max_entries}")
        self._copy_values = copy_values
        self._max_entries = max_entries
        self._data: dict[K, V] = {}
        # Operations never await while holding the lock today; the lock keeps each
        # batch atomic should that change (and documents the intent).
        self._lock = asyncio.Lock()
        if items:
            self._check_room(items.keys())
            self._data.update({key: self._copy(value) for key, value in items.items()})

    def __repr__(self) -> str:
        bound = "" if self._max_entries is None else f", max_entries={self._max_entries}"
        return f"MemoryStore(entries={len(self._data)}{bound})"

    def __len__(self) -> int:
        return len(self._data)

    def items(self) -> dict[K, V]:
        """A snapshot ``{key: value}`` of everything stored (copied if ``copy_values``)."""
        return {key: self._copy(value) for key, value in self._data.items()}

    async def get(self, key: K) -> V | None:
        async with self._lock:
            if key not in self._data:
                return None
            return self._copy(self._data[key])

    async def set(self, key: K, value: V) -> None:
        value = self._copy(value)
        async with self._lock:
            self._check_room((key,))
            self._data[key] = value

    async def delete(self, key: K) -> None:
        async with self._lock:
            self._data.pop(key, None)

    async def exists(self, key: K) -> bool:
        async with self._lock:
            return key in self._data

    async def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        async with self._lock:
            return {key: self._copy(self._data[key]) for key in keys if key in self._data}

    async def set_many(self, items: Mapping[K, V]) -> None:
        copied = {key: self._copy(value) for key, value in items.items()}
        async with self._lock:
            self._check_room(copied.keys())
            self._data.update(copied)

    async def delete_many(self, keys: Sequence[K]) -> None:
        async with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def _copy(self, value: V) -> V:
        return copy.deepcopy(value) if self._copy_values else value

    def _check_room(self, keys: Iterable[K]) -> None:
        """Refuse a write that would add keys past ``max_entries`` (``keys`` are unique)."""
        if self._max_entries is None:
            return
        new = sum(1 for key in keys if key not in self._data)
        if len(self._data) + new > self._max_entries:
            raise StoreError(
                f"MemoryStore is full: {len(self._data)} entries + {new} new "
                f"> max_entries={self._max_entries}; nothing was written"
            )
