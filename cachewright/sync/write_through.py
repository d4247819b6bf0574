"""The synchronous WriteThrough: :class:`cachewright.WriteThrough` for threads.

Usage::

    from cachewright.sync import Cache, WriteThrough

    orders = WriteThrough(cache, OrderRepository(engine), key="order:{}", type=Order, ttl=600)
    orders.set(7, order)            # the store, then the cache; the store's error is raised
    orders.get(7)                   # the cache, else the store (filled under a lease)
    orders.delete(7)
    orders.set_many({8: a, 9: b}); orders.get_many([7, 8, 9])

``store`` is a synchronous repository (``get``, ``set``, ``delete``, optional
``exists`` and batch methods; they run in worker threads) or a store of
``cachewright.sync.stores``. Arguments, errors and guarantees (G9, G10, G15) are
those of the async ``WriteThrough``: writers of one key are ordered by the engine's
per-key lock whatever thread they come from.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cachewright import WriteThrough as AsyncWriteThrough
from cachewright.sync._adapt import store_recipe
from cachewright.sync._twin import Twin
from cachewright.sync.cache import Cache

if TYPE_CHECKING:
    from cachewright.patterns import WriteThroughStats

__all__ = ["WriteThrough"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WriteThrough(Generic[K, V]):
    """A data store with a cache kept in step on every write; see the module docstring."""

    __slots__ = ("_cache", "_twin")

    def __init__(
        self,
        cache: Cache,
        store: object,
        *,
        key: str | Callable[[Any], str] = "{}",
        type: Any,
        ttl: float | None = None,
        sliding: float | timedelta | None = None,
        expires_at: datetime | Callable[[], datetime] | None = None,
        tags: Iterable[str] | None = None,
        strict: bool = False,
    ) -> None:
        source = store_recipe(store)
        tags = None if tags is None else list(tags)

        def build() -> AsyncWriteThrough[K, V]:
            return AsyncWriteThrough(
                cache.engine(),
                source(),
                key=key,
                type=type,
                ttl=ttl,
                sliding=sliding,
                expires_at=expires_at,
                tags=tags,
                strict=strict,
            )

        self._cache = cache
        self._twin: Twin[AsyncWriteThrough[K, V]] = Twin(build)

    def __repr__(self) -> str:
        return f"sync.WriteThrough({self._cache!r})"

    def stats(self) -> WriteThroughStats:
        """Counters: cache writes that failed after a store success, store errors, fills."""
        return self._twin.run(lambda w: w.stats())

    def set(self, key: K, value: V) -> None:
        """Write ``value`` to the store, then to the cache (or invalidate, if strict)."""
        self._twin.run(lambda w: w.set(key, value))

    def set_many(self, items: Mapping[K, V]) -> None:
        """Write every item to the store in one batch, then to the cache."""
        self._twin.run(lambda w: w.set_many(items))

    def delete(self, key: K) -> None:
        """Delete from the store, then from the cache."""
        self._twin.run(lambda w: w.delete(key))

    def delete_many(self, keys: Sequence[K]) -> None:
        """Delete every key from the store in one batch, then from the cache."""
        keys = list(keys)
        self._twin.run(lambda w: w.delete_many(keys))

    def get(self, key: K) -> V | None:
        """The cache's value, else the store's (filled back without racing writes)."""
        return self._twin.run(lambda w: w.get(key))

    def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        """Hits only: the cache's, then the store's for the rest (one batch)."""
        keys = list(keys)
        return self._twin.run(lambda w: w.get_many(keys))

    def exists(self, key: K) -> bool:
        """Whether the cache or, on a miss, the store holds ``key``."""
        return self._twin.run(lambda w: w.exists(key))
