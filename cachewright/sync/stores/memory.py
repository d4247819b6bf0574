"""The synchronous ``MemoryStore``: :class:`cachewright.stores.MemoryStore` from threads.

Usage::

    from cachewright.sync.stores import MemoryStore

    store = MemoryStore[int, User]({1: ada}, max_entries=10_000)
    orders = WriteBehind(cache, store, key="user:{}", type=User)
    store.get(1)                    # what reached the store

Process memory: a forked child starts from the initial ``items``, not from what the
parent wrote (each process has its own).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

from cachewright.stores import MemoryStore as AsyncMemoryStore
from cachewright.sync._engine import EngineStore

__all__ = ["MemoryStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class MemoryStore(EngineStore[K, V]):
    """A dict-backed store for tests and demos; the async ``MemoryStore``'s arguments."""

    __slots__ = ()

    def __init__(
        self,
        items: Mapping[K, V] | None = None,
        *,
        copy_values: bool = False,
        max_entries: int | None = None,
    ) -> None:
        initial = dict(items) if items else None
        super().__init__(
            lambda: AsyncMemoryStore(initial, copy_values=copy_values, max_entries=max_entries)
        )

    def __repr__(self) -> str:
        return "sync.MemoryStore()"
