"""CacheAside: read through the cache, load a miss once, fill without racing writes.

Usage::

    users = CacheAside(cache, loader=repo.get_user, key="user:{}", type=User, ttl=600)
    async with users:                                # closes background refreshes on exit
        user = await users.get(42)                   # one loader call however many miss at once
        found = await users.get_many([1, 2, 3])      # {1: u1, 3: u3}: hits only
        await users.set(42, user)                    # after writing the store
        await users.invalidate(42)                   # after deleting from the store
        await users.refresh(42)                      # reload now
        report = await users.warmup(range(1, 10_001), concurrency=32)

    products = CacheAside(cache, loader=SQLStore(url, "products", type=Product),
                          key="product:{}", type=Product, ttl=60,
                          stale_ttl=3600, lock=True, early_refresh=1.0)

``loader`` is an async function of the domain key returning the value or None, or a
data store (anything with ``get`` and ``get_many``, see ``cachewright.stores``), whose
``get_many`` then serves the misses of ``get_many`` and ``warmup`` in one call.

Guarantees (docs/guarantees.md):

- G7, one process: concurrent reads of one key share one execution (cache read,
  load, fill), so 1,000 concurrent misses cost one loader call and three cache
  round trips (GET, the lease's SET NX, the compare-and-set script, which with
  ``lock=True`` also publishes the value to the other processes' waiters). A failure
  reaches every caller waiting at that moment; the next call retries. A cancelled
  caller does not cancel the shared load. A hit is one cache read (shared by the
  callers of that key arriving while it is in flight) and a freshness check: it
  starts no task and takes no lock; only misses and stale entries enter the flight.
- G7, processes (``lock=True``): the lease a miss puts on the key is a lock with a
  random token and a timeout (``lock_ttl``): other processes wait for the entry,
  woken by the fill (it publishes the value to them; see ``Cache.fills``), and take
  the lease over if it expires, is released or is invalidated. A wait longer than
  ``lock_wait`` (default ``2 * lock_ttl``) raises :class:`~cachewright.errors.LockTimeout` rather
  than loading: the lock exists to protect the source, and an overloaded source is
  exactly when a fallback load would hurt most. Hits never wait and never lock.
  Without ``lock``, a miss whose key another process is filling loads the value
  itself and leaves the fill to that process.
- G8 (``stale_ttl``): entries outlive ``ttl`` by ``stale_ttl``. A stale entry is
  returned at once (``get_entry`` marks it ``stale``) and refreshed in the background,
  one refresh per key at a time; while the loader fails, the stale value keeps being
  served until the grace ends. After that a failing load raises. ``early_refresh``
  (XFetch's beta, 1.0 is a good start) refreshes hot entries before they expire.
- Loader timeouts (G8): ``soft_timeout`` bounds the wait for a stale entry's refresh,
  ``hard_timeout`` a miss's whole wait; the load goes on in the background (``_timeouts``).
- Adaptive caching: the loader may return ``Cached(value, ttl=..., tags=[...])`` or
  ``Cached.skip(value)`` to choose one value's life, tags, or no caching at all.
- Conditional refresh: ``refresh_loader(key, stale_entry)`` is called instead of the
  loader when a cached entry is refreshed (stale, early, or ``soft_timeout``); it
  returns a new value, or ``NotModified`` to keep the cached value for another ``ttl``.
- Events: hit, miss, stale, loader_timeout, fail_safe, not_modified, background_fill
  (only for a fill written) reach ``cache.events`` subscribers and the
  ``cachewright.events`` counter, from ``get``, ``get_many``, ``warmup`` and refreshes.
- G10: every fill is a compare-and-set against the lease taken at the miss (or
  against the version of the stale entry being refreshed), so a fill that began
  before a write, a delete, or a tag invalidation of the key never overwrites it.

Errors: what the loader raises reaches the caller unchanged (the same object, type
and traceback), with a note naming the key, everywhere: ``get``, ``get_many``,
``refresh``, ``warmup`` (in its report) and ``@cached`` functions, so ``except
UserNotFound:`` keeps working once a cache is added. cachewright raises its own errors
only where it decides something itself (``LockTimeout``). A cache that cannot be
reached never fails a read that loaded a value: reads fail open and fills are skipped.

Batch reads (``get_many``, ``warmup``): one cache read for all keys, one batched load
for the misses, filled as ``batch_fill`` says (see ``_many``).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable
from types import TracebackType
from typing import Any, Generic, Literal, Self, TypeGuard, TypeVar, cast

from cachewright.cache import Cache, Entry, Lease
from cachewright.events import EventKind
from cachewright.patterns._fill import ExpiresAt
from cachewright.patterns.aside._adaptive import unwrap
from cachewright.patterns.aside._loader import LoaderSource
from cachewright.patterns.aside._loads import RefreshLoader
from cachewright.patterns.aside._options import Seconds
from cachewright.patterns.aside._revalidate import abandon, due_early
from cachewright.patterns.aside._shared_read import SharedRead
from cachewright.patterns.aside._singleflight import SingleFlight
from cachewright.patterns.aside._stats import CacheAsideStats
from cachewright.patterns.aside._warming import Progress, WarmupReport
from cachewright.patterns.aside._wiring import build

__all__ = ["CacheAside", "CacheAsideStats"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class CacheAside(Generic[K, V]):
    """The cache-aside pattern over a :class:`~cachewright.Cache` and a loader.

    Usage: see the module docstring. Options:

    - ``key``: format string with one field (``"user:{}"``) or a function of the key.
    - ``type``: what entries are validated as (anything pydantic's TypeAdapter takes).
    - ``ttl``: fresh life in seconds or a timedelta (None: no expiry); ``tags``: tags
      of every entry, for ``cache.invalidate_tags``.
    - ``sliding``: each read extends an entry's life by this window, never past
      ``ttl`` (G4); ``expires_at``: a datetime (or a function returning one, asked at
      each write) no entry outlives; past it, nothing is cached. As ``Cache.set``.
    - ``cache_none``: cache a loader's None for ``none_ttl`` (negative caching), told
      apart from a miss (None: no expiry); otherwise a None is returned, not cached.
    - ``stale_ttl``, ``early_refresh``: G8, see the module docstring.
    - ``lock``, ``lock_ttl``, ``lock_wait``: G7 across processes. ``lock_ttl`` also
      bounds every fill: a load slower than it is returned but not cached.
    - ``max_concurrency``: loader calls and cache commands in flight for one batch.
    - ``batch_fill``: ``"safe"`` or ``"fast"``, see the module docstring.
    - ``soft_timeout``, ``hard_timeout``, ``refresh_loader``: see the module docstring.
    """

    __slots__ = (
        "__weakref__",
        "_cache",
        "_closed",
        "_counters",
        "_early",
        "_filler",
        "_flights",
        "_key",
        "_loader",
        "_lookup",
        "_many",
        "_misses",
        "_read_type",
        "_reads",
        "_refreshes",
        "_signals",
        "_timed",
        "_timer",
    )

    def __init__(
        self,
        cache: Cache,
        *,
        loader: LoaderSource[K, V],
        key: str | Callable[[K], str],
        type: Any = None,
        ttl: Seconds | None = 600,
        sliding: Seconds | None = None,
        expires_at: ExpiresAt | None = None,
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
        refresh_loader: RefreshLoader[K, V] | None = None,
    ) -> None:
        parts = build(
            cache,
            loader=loader,
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
            refresh_loader=refresh_loader,
        )
        self._misses = parts.misses
        self._many = parts.many
        self._cache = cache
        self._loader = parts.loader
        self._key = parts.key
        self._read_type = parts.read_type
        self._lookup = cache.lookup
        self._signals = parts.signals
        self._counters = parts.counters
        self._timed = timed = parts.timed
        self._filler = parts.filler
        self._early = early_refresh
        self._timer = parts.timer
        self._refreshes = refreshes = parts.refreshes
        self._flights: SingleFlight[Entry[V | None]] = SingleFlight()
        self._reads: SharedRead[Entry[Any] | Lease | None] = SharedRead()
        # Read-your-writes: a write to a key, through any pattern or the cache itself,
        # stops new readers from joining a load of it that began before the write.
        cache.watch_writes(self._flights)
        cache.watch_writes(self._reads)  # nor a cache read in flight from before it
        cache.watch_writes(timed)  # ... nor a hard_timeout load running on past it
        self._closed = False
        # Never closed: when collected, cancel the refreshes still running, say so once.
        weakref.finalize(self, abandon, refreshes.refresher, repr(self))

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Cancel background refreshes and wait for loads in flight. Idempotent.

        The cache is not closed: it belongs to the caller. Reads keep working after
        ``close()``; stale entries are then served without a background refresh.
        """
        if self._closed:
            return
        self._closed = True
        self._misses.close()
        await self._refreshes.close()
        await self._timed.close()
        await self._flights.close()

    def __repr__(self) -> str:
        return f"CacheAside({self._cache!r}, loader={self._loader.source!r})"

    @property
    def cache(self) -> Cache:
        return self._cache

    def cache_key(self, key: K) -> str:
        """The cache key of a domain key (``"user:42"`` for ``42``)."""
        return self._key(key)

    async def stats(self) -> CacheAsideStats:
        """This process's counters: loads, stale serves, refused fills, lock waits.

        Awaited, like every ``stats()`` in cachewright (docs/operations.md); this one
        makes no round trip.
        """
        return self._counters.snapshot()

    # -- reads -------------------------------------------------------------------------

    async def get(self, key: K) -> V | None:
        """The value of ``key``: from the cache, or loaded once and cached.

        None when the loader has no value (cached as such with ``cache_none``).
        Raises what the loader raised (unchanged, with a note naming the key) when the
        load fails and no stale value is left, :class:`~cachewright.errors.LockTimeout`
        when ``lock=True`` and another process's fill outlasts ``lock_wait``.
        """
        # get_entry's steps, repeated rather than awaited: a coroutine less per hit.
        cache_key = self._key(key)
        found, own = None, False
        if not self._flights.running(cache_key):
            found, own = await self._reads.run(cache_key, self._lookup, cache_key, self._read_type)
            if self._fresh(found, cache_key):
                return cast("V | None", found.value)  # a string: no typing objects per call
        return (await self._flight(key, cache_key, found, own)).value

    async def get_entry(self, key: K) -> Entry[V | None]:
        """Like :meth:`get`, with the entry's metadata; ``stale`` marks a stale serve."""
        cache_key = self._key(key)
        found, own = None, False
        if not self._flights.running(cache_key):
            # The hit path: one cache read (shared by the callers of this key that
            # arrive meanwhile) and a freshness check; no task, no lock. A miss or a
            # stale entry goes on to the single flight below.
            found, own = await self._reads.run(cache_key, self._lookup, cache_key, self._read_type)
            if self._fresh(found, cache_key):
                return cast("Entry[V | None]", found)
        return await self._flight(key, cache_key, found, own)

    def _fresh(self, found: Entry[Any] | Lease | None, cache_key: str) -> TypeGuard[Entry[Any]]:
        """Whether ``found`` is a hit: fresh, not due for an early refresh (if any)."""
        if (
            isinstance(found, Entry)
            and not found.stale
            and (self._early is None or not due_early(found, self._timer, self._early))
        ):
            self._signals.emit(EventKind.HIT, cache_key)
            return True
        return False

    def _flight(
        self, key: K, cache_key: str, found: Entry[Any] | Lease | None, own: bool
    ) -> Awaitable[Entry[V | None]]:
        """The single flight: started from this caller's read (``own``) rather than
        reading again, else joined, or started with a read of its own."""
        if own:
            return self._flights.run(cache_key, lambda: self._misses.answer(key, cache_key, found))
        return self._flights.run(cache_key, lambda: self._resolve(key, cache_key))

    async def _resolve(self, key: K, cache_key: str) -> Entry[V | None]:
        found = await self._cache.lookup(cache_key, self._read_type)
        return await self._misses.answer(key, cache_key, found)

    async def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values of ``keys`` the cache or the loader has (misses are absent).

        One cache read for all keys, one batched load for the misses (a data store's
        ``get_many``, or concurrent loader calls), then the fill (see ``batch_fill``).
        Stale entries are returned and refreshed in the background. If some loads
        fail, the others are still cached and the first failure is raised unchanged,
        with notes naming its key and the other keys that failed. ``soft_timeout`` and
        ``hard_timeout`` apply as in ``get`` (the batch as one load; see ``_many``).
        """
        return await self._many.get(keys)

    # -- writes ------------------------------------------------------------------------

    async def set(self, key: K, value: V | None) -> None:
        """Cache ``value`` for ``key`` now (after writing it to the store).

        Unconditional: it replaces any entry and breaks any fill in progress, which
        then leaves this value in place (G10). ``None`` is cached with ``cache_none``
        and invalidates the key otherwise. Raises ``CacheUnavailable`` when the cache
        cannot be reached (a write-through caller wants to know).
        """
        cache_key = self._key(key)
        self._flights.forget(cache_key)
        self._reads.forget(cache_key)
        await self._filler.write(cache_key, value)

    async def invalidate(self, key: K) -> bool:
        """Remove ``key`` from the cache; True if it was there.

        A fill in progress for it (here or in another process) is not written: the
        delete removes its lease. Readers arriving afterwards load afresh.
        """
        cache_key = self._key(key)
        self._flights.forget(cache_key)
        self._reads.forget(cache_key)
        return await self._cache.delete(cache_key)

    async def invalidate_many(self, keys: Iterable[K]) -> int:
        """Remove every key in one round trip; the number that were cached."""
        cache_keys = [self._key(key) for key in keys]
        for cache_key in cache_keys:
            self._flights.forget(cache_key)
            self._reads.forget(cache_key)
        return await self._cache.delete_many(cache_keys)

    async def refresh(self, key: K) -> V | None:
        """Load ``key`` now and cache the result; returns it.

        The write is a compare-and-set against what the key held when the refresh
        began, so a write that lands during the load is kept (G10). A failing load
        raises what the loader raised and leaves the cached entry as it was. Past
        ``hard_timeout`` it raises ``LoaderTimeout`` and the reload goes on and fills;
        ``soft_timeout`` does not apply (serving the old value would defeat a refresh).
        """
        return unwrap(await self._misses.refresh(key, self._key(key)))

    # -- warm-up -----------------------------------------------------------------------

    async def warmup(
        self,
        keys: Iterable[K],
        *,
        concurrency: int | None = None,
        batch_size: int = 500,
        skip_cached: bool = True,
        progress: Progress | None = None,
    ) -> WarmupReport:
        """Load ``keys`` into the cache; a failing key is reported, the rest go on.

        Usage::

            report = await users.warmup(range(1, 10_001), concurrency=16,
                                        progress=lambda done, total: print(done, total))
            report.loaded, report.skipped, report.missing, report.failed

        Keys go in chunks of ``batch_size``: one cache read per chunk (fresh entries
        are skipped with ``skip_cached``; stale ones are reloaded), then one
        ``get_many`` per chunk with a data store loader, ``concurrency`` chunks at a
        time, or ``concurrency`` loader calls at a time with a function. Fills follow
        ``batch_fill`` and never overwrite a newer write. ``progress(done, total)`` is
        called after each chunk.
        """
        return await self._many.warmup(
            keys,
            concurrency=concurrency,
            batch_size=batch_size,
            skip_cached=skip_cached,
            progress=progress,
        )
