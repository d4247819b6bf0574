"""The synchronous CacheAside: :class:`cachewright.CacheAside` for threads, same engine.

Usage::

    from cachewright.sync import Cache, CacheAside

    cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace="shop")
    users = CacheAside(cache, loader=repo.get_user, key="user:{}", type=User, ttl=600)
    with users:
        user = users.get(42)                 # one loader call however many threads miss
        found = users.get_many([1, 2, 3])    # {1: u1, 3: u3}: hits only
        users.invalidate(42)                 # after deleting from the store
        report = users.warmup(range(1, 10_001), concurrency=16)

``loader`` is a plain function of the key (it runs in a worker thread, so it may
block), or a synchronous repository with ``get`` and ``get_many`` (its ``get_many``
then serves batch reads), or a ``cachewright.sync.stores`` store. Options, results,
errors and guarantees (G7, G8, G10) are those of the async ``CacheAside``: every
thread's call goes to one async ``CacheAside`` on the engine's loop, so N threads
missing one key cost one loader call. A loader's failure raises the loader's own
exception, unchanged (with a note naming the key), as in the async API.
``refresh_loader(key, stale_entry)`` is a plain function too, run in a worker thread;
``soft_timeout`` and ``hard_timeout`` bound the calling thread's wait the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar

from cachewright import CacheAside as AsyncCacheAside
from cachewright import Entry, WarmupReport
from cachewright.sync._adapt import loader_recipe, ready, threaded
from cachewright.sync._twin import PATTERN, Twin
from cachewright.sync.cache import Cache

if TYPE_CHECKING:
    from cachewright.patterns import CacheAsideStats

__all__ = ["CacheAside"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Seconds = float | int | timedelta


class CacheAside(Generic[K, V]):
    """The cache-aside pattern for synchronous code; see the module docstring and the
    async :class:`cachewright.CacheAside` for each option."""

    __slots__ = ("_cache", "_twin")

    def __init__(
        self,
        cache: Cache,
        *,
        loader: Callable[[K], V | None] | object,
        key: str | Callable[[K], str],
        type: Any = None,
        ttl: Seconds | None = 600,
        sliding: Seconds | None = None,
        expires_at: datetime | Callable[[], datetime] | None = None,
        tags: Iterable[str] | str | None = None,
        cache_none: bool = False,
        none_ttl: Seconds | None = 60,
        stale_ttl: Seconds | None = None,
        lock: bool = False,
        lock_ttl: Seconds = 10,
        lock_wait: Seconds | None = None,
        early_refresh: float | None = None,
        max_concurrency: int = 32,
        batch_fill: Literal["safe", "fast"] = "safe",
        soft_timeout: Seconds | None = None,
        hard_timeout: Seconds | None = None,
        refresh_loader: Callable[[K, Entry[V]], Any] | None = None,
    ) -> None:
        source = loader_recipe(loader)
        refresh = None if refresh_loader is None else threaded(refresh_loader, "refresh_loader")
        tags = list(tags) if tags is not None and not isinstance(tags, str) else tags

        def build() -> AsyncCacheAside[K, V]:
            return AsyncCacheAside(
                cache.engine(),
                loader=source(),
                key=key,
                type=type,
                ttl=ttl,
                sliding=sliding,
                expires_at=expires_at,
                tags=tags,
                cache_none=cache_none,
                none_ttl=none_ttl,
                stale_ttl=stale_ttl,
                lock=lock,
                lock_ttl=lock_ttl,
                lock_wait=lock_wait,
                early_refresh=early_refresh,
                max_concurrency=max_concurrency,
                batch_fill=batch_fill,
                soft_timeout=soft_timeout,
                hard_timeout=hard_timeout,
                refresh_loader=refresh,
            )

        self._cache = cache
        self._twin: Twin[AsyncCacheAside[K, V]] = Twin(
            build, close=AsyncCacheAside.close, order=PATTERN
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Cancel background refreshes and wait for loads in flight. Idempotent.
        The cache stays open: it belongs to the caller."""
        self._twin.close()

    def __repr__(self) -> str:
        return f"sync.CacheAside({self._cache!r})"

    @property
    def cache(self) -> Cache:
        return self._cache

    def cache_key(self, key: K) -> str:
        """The cache key of a domain key (``"user:42"`` for ``42``)."""
        return self._twin.run(lambda a: ready(a.cache_key(key)))

    def stats(self) -> CacheAsideStats:
        """This process's counters: loads, stale serves, refused fills, lock waits."""
        return self._twin.run(lambda a: a.stats())

    def get(self, key: K) -> V | None:
        """The value of ``key``: from the cache, or loaded once and cached."""
        return self._twin.run(lambda a: a.get(key))

    def get_entry(self, key: K) -> Entry[V | None]:
        """Like :meth:`get`, with the entry's metadata; ``stale`` marks a stale serve."""
        return self._twin.run(lambda a: a.get_entry(key))

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values of ``keys`` that exist: one cache read, one batched load."""
        keys = list(keys)
        return self._twin.run(lambda a: a.get_many(keys))

    def set(self, key: K, value: V | None) -> None:
        """Cache ``value`` for ``key`` (after writing it to the store yourself)."""
        self._twin.run(lambda a: a.set(key, value))

    def invalidate(self, key: K) -> bool:
        """Drop the entry of ``key``; True if it was cached."""
        return self._twin.run(lambda a: a.invalidate(key))

    def invalidate_many(self, keys: Iterable[K]) -> int:
        """Drop the entries of ``keys``; the number that were cached."""
        keys = list(keys)
        return self._twin.run(lambda a: a.invalidate_many(keys))

    def refresh(self, key: K) -> V | None:
        """Load ``key`` now and cache it (never over a newer write)."""
        return self._twin.run(lambda a: a.refresh(key))

    def warmup(
        self,
        keys: Iterable[K],
        *,
        concurrency: int | None = None,
        batch_size: int = 500,
        skip_cached: bool = True,
        progress: Callable[[int, int], object] | None = None,
    ) -> WarmupReport:
        """Load ``keys`` into the cache; a failing key is reported, the rest go on.
        ``progress(done, total)`` runs on the engine's thread: keep it quick."""
        keys = list(keys)
        return self._twin.run(
            lambda a: a.warmup(
                keys,
                concurrency=concurrency,
                batch_size=batch_size,
                skip_cached=skip_cached,
                progress=progress,
            )
        )
