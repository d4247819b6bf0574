"""The synchronous WriteBehind: :class:`cachewright.WriteBehind` for threads.

Usage::

    from cachewright.sync import Cache, WriteBehind

    profiles = WriteBehind(cache, ProfileRepository(engine), key="profile:{}", type=Profile,
                           flush_interval=1.0, batch_size=500)
    with profiles:                        # starts the flusher; on exit, flushes
        profiles.set(1, profile)          # the cache now, the store within ~flush_interval
        profiles.get(1)                   # sees the pending write
        profiles.flush()                  # FlushReport
        profiles.stats()                  # pending, oldest_pending_age, flushed, ...

The flusher runs on the engine's loop, the repository's ``set_many``/``delete_many``
in worker threads. Arguments and guarantees (G11, G12, G15, G16) are the async
``WriteBehind``'s. ``close()`` flushes within ``close_timeout``; a write-behind never
closed is closed (and flushed) at interpreter exit, before the caches and stores it
uses. Pass ``queue`` as a function that builds the queue (it then gets built again in
a forked child); the default queue is built per process already.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from cachewright import RetryPolicy, WriteQueue
from cachewright import WriteBehind as AsyncWriteBehind
from cachewright.sync._adapt import ready, store_recipe
from cachewright.sync._twin import WRITE_BEHIND, Twin
from cachewright.sync.cache import Cache

if TYPE_CHECKING:
    from cachewright.patterns import (
        CloseReport,
        FailedWrite,
        FlushReport,
        ReplayResult,
        WriteBehindStats,
    )

__all__ = ["WriteBehind"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class WriteBehind(Generic[K, V]):
    """A data store behind a cache, written in batches later; see the module docstring."""

    __slots__ = ("_cache", "_twin")

    def __init__(
        self,
        cache: Cache,
        store: object,
        *,
        key: str | Callable[[Any], str] = "{}",
        type: Any,
        key_type: Any = None,
        ttl: float | None = None,
        sliding: float | timedelta | None = None,
        expires_at: datetime | Callable[[], datetime] | None = None,
        tags: Iterable[str] | None = None,
        flush_interval: float = 1.0,
        batch_size: int = 500,
        max_pending: int = 100_000,
        put_timeout: float | None = 5.0,
        close_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        queue: Callable[[], WriteQueue] | None = None,
        queue_name: str | None = None,
        flusher: bool = True,
        strict: bool | None = None,
    ) -> None:
        source = store_recipe(store)
        tags = None if tags is None else list(tags)

        def build() -> AsyncWriteBehind[K, V]:
            return AsyncWriteBehind(
                cache.engine(),
                source(),
                key=key,
                type=type,
                key_type=key_type,
                ttl=ttl,
                sliding=sliding,
                expires_at=expires_at,
                tags=tags,
                flush_interval=flush_interval,
                batch_size=batch_size,
                max_pending=max_pending,
                put_timeout=put_timeout,
                close_timeout=close_timeout,
                retry=retry,
                queue=None if queue is None else queue(),
                queue_name=queue_name,
                flusher=flusher,
                strict=strict,
            )

        self._cache = cache
        self._twin: Twin[AsyncWriteBehind[K, V]] = Twin(
            build, close=AsyncWriteBehind.close, order=WRITE_BEHIND
        )

    def __repr__(self) -> str:
        return f"sync.WriteBehind({self._cache!r})"

    @property
    def strict(self) -> bool:
        """Whether writes drop the cache entry (True) or fill it (the fast mode)."""
        return self._twin.run(lambda w: ready(w.strict))

    def start(self) -> None:
        """Start the background flusher (done by ``with`` and the first write)."""
        self._twin.run(AsyncWriteBehind.start)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self, timeout: float | None = None) -> CloseReport | None:
        """Stop accepting writes, flush what is pending within ``timeout`` (default
        ``close_timeout``) and report what is left; None if this process never used it.
        Idempotent: later calls return the first report."""
        report: CloseReport | None = self._twin.close(timeout)
        return report

    def set(self, key: K, value: V) -> None:
        """Accept a write: the queue, then the cache; the store gets it at a flush."""
        self._twin.run(lambda w: w.set(key, value))

    def set_many(self, items: Mapping[K, V]) -> None:
        """Accept every item as one batch of writes."""
        self._twin.run(lambda w: w.set_many(items))

    def delete(self, key: K) -> None:
        """Accept a delete: pending for the store, gone from the cache now."""
        self._twin.run(lambda w: w.delete(key))

    def get(self, key: K) -> V | None:
        """The cache's value, else a pending write's, else the store's."""
        return self._twin.run(lambda w: w.get(key))

    def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        """Hits only, read the way :meth:`get` reads."""
        keys = list(keys)
        return self._twin.run(lambda w: w.get_many(keys))

    def flush(self) -> FlushReport:
        """Write everything pending now; what was written and dead-lettered."""
        return self._twin.run(AsyncWriteBehind.flush)

    def stats(self) -> WriteBehindStats:
        """Queue and flusher counters (pending, oldest_pending_age, flushed, ...)."""
        return self._twin.run(AsyncWriteBehind.stats)

    def dead_letters(self, limit: int = 100) -> list[FailedWrite[K, V]]:
        """Up to ``limit`` writes the store kept rejecting, oldest first, decoded."""
        return self._twin.run(lambda w: w.dead_letters(limit))

    def replay_dead_letters(self, ids: Iterable[str] | None = None) -> ReplayResult:
        """Queue dead letters again (all of them by default) and wake the flusher."""
        ids = None if ids is None else list(ids)
        return self._twin.run(lambda w: w.replay_dead_letters(ids))

    def drop_dead_letters(self, ids: Iterable[str]) -> int:
        """Delete dead letters for good; the number removed."""
        ids = list(ids)
        return self._twin.run(lambda w: w.drop_dead_letters(ids))
