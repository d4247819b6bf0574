"""The store's own checks, run at the caller's write before it is acknowledged (G15).

Usage::

    checks = StoreChecks(store)            # a CheckedStore, or any store (then: no checks)
    await checks.item(7, order)            # InvalidKey / TypeMismatch from the store
    await checks.items({7: order, 8: other})
    await checks.key(7); await checks.keys([7, 8])

Write-behind acknowledges a write long before the store sees it, so a key or value the
store would refuse must be refused here, at the call, not dead-lettered at the flush.
Write-through runs them too, so both patterns treat a store's declared types alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from cachewright.stores.base import CheckedStore

__all__ = ["StoreChecks"]

K = TypeVar("K")
V = TypeVar("V")


class StoreChecks(Generic[K, V]):
    """``check_key``/``check_item`` of a store that declares them; no-ops otherwise."""

    __slots__ = ("_item", "_key")

    def __init__(self, store: object) -> None:
        self._key: Callable[[Any], Awaitable[None]] | None = None
        self._item: Callable[[Any, Any], Awaitable[None]] | None = None
        if isinstance(store, CheckedStore):
            self._key = store.check_key
            self._item = store.check_item

    async def key(self, key: K) -> None:
        if self._key is not None:
            await self._key(key)

    async def keys(self, keys: Iterable[K]) -> None:
        if self._key is not None:
            for key in keys:
                await self._key(key)

    async def item(self, key: K, value: V) -> None:
        if self._item is not None:
            await self._item(key, value)

    async def items(self, items: Mapping[K, V]) -> None:
        if self._item is not None:
            for key, value in items.items():
                await self._item(key, value)
