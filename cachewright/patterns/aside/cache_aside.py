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
  round trips (GET, the lease's SET NX, the compare-and-set script). A failure
  reaches every caller waiting at that moment; the next call retries. A cancelled
  caller does not cancel the shared load. A hit is one cache read (shared by the
  callers of that key arriving while it is in flight) and a freshness check: it
  starts no task and takes no lock; only misses and stale entries enter the flight.
- G7, processes (``lock=True``): the lease a miss puts on the key is a lock with a
  random token and a timeout (``lock_ttl``): other processes wait for the entry,
  polling with exponential backoff (20 ms doubling to 100 ms, jittered), and take
  the lease over if it expires or is invalidated. A wait longer than ``lock_wait``
  (default ``2 * lock_ttl``) raises :class:`~cachewright.errors.LockTimeout` rather
  than loading: the lock exists to protect the source, and an overloaded source is
  exactly when a fallback load would hurt most. Hits never wait and never lock.
  Without ``lock``, a miss whose key another process is filling loads the value
  itself and leaves the fill to that process.
- G8 (``stale_ttl``): entries outlive ``ttl`` by ``stale_ttl``. A stale entry is
  returned at once (``get_entry`` marks it ``stale``) and refreshed in the background,
  one refresh per key at a time; while the loader fails, the stale value keeps being
  served until the grace ends. After that a failing load raises. ``early_refresh``
  (XFetch's beta, 1.0 is a good start) refreshes hot entries before they expire.
- Loader timeouts (G8): with ``soft_timeout`` (needs ``stale_ttl``), a read that
  finds a stale entry waits up to ``soft_timeout`` for the refresh, then returns the
  stale value; without it, the stale value is returned at once (the default). With
  ``hard_timeout``, a read that has no stale value to fall back on waits up to
  ``hard_timeout`` for its load, then raises :class:`~cachewright.errors.LoaderTimeout`.
  Either way the load goes on in the background (one per key; later readers join it)
  and fills the cache when it ends; ``close()`` cancels the loads still running.
  A refresh that fails while a stale value exists serves that value (fail-safe).
- Adaptive caching: the loader may return ``Cached(value, ttl=..., tags=[...])`` or
  ``Cached.skip(value)`` to choose one value's life, tags, or no caching at all.
- Conditional refresh: ``refresh_loader(key, stale_entry)`` is called instead of the
  loader when a cached entry is refreshed (stale, early, or ``soft_timeout``); it
  returns a new value, or ``NotModified`` to keep the cached value for another ``ttl``.
- Events: hit, miss, stale, loader_timeout, fail_safe, not_modified, background_fill
  reach ``cache.events`` subscribers and the ``cachewright.events`` counter.
- G10: every fill is a compare-and-set against the lease taken at the miss (or
  against the version of the stale entry being refreshed), so a fill that began
  before a write, a delete, or a tag invalidation of the key never overwrites it.

Errors: what the loader raises reaches the caller unchanged (the same object, type
and traceback), with a note naming the key, everywhere: ``get``, ``get_many``,
``refresh``, ``warmup`` (in its report) and ``@cached`` functions, so ``except
UserNotFound:`` keeps working once a cache is added. cachewright raises its own errors
only where it decides something itself (``LockTimeout``). A cache that cannot be
reached never fails a read that loaded a value: reads fail open and fills are skipped.

Batch reads (``get_many``, ``warmup``) cost one cache read for all keys and one
batched load for the misses. With ``batch_fill="safe"`` (the default) each missing
key is leased before the load and filled by compare-and-set, so G10 holds; that is
two commands per missing key, sent concurrently (at most ``max_concurrency`` at a
time). ``batch_fill="fast"`` writes the batch in one ``set_many`` round trip instead,
and gives up G10 for batch reads: a write or invalidation landing while the batch
loads can be overwritten by the older value until ``ttl`` ends. Batch reads do not
wait on other processes' locks: a key another process is filling is loaded with the
batch but not written.
"""

from __future__ import annotations

import functools
import logging
import warnings
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Generic, Literal, Optional, Self, TypeVar, cast

from cachewright.cache import Cache, Entry, Lease
from cachewright.errors import CacheUnavailable, ConfigurationError, LockTimeout
from cachewright.events import EventKind
from cachewright.patterns._fill import ExpiresAt, FillPolicy, expiry_options
from cachewright.patterns._keys import KeyMapper
from cachewright.patterns._notes import add_note
from cachewright.patterns.aside._adaptive import Loaded, unwrap
from cachewright.patterns.aside._batch import BatchLoader
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loader import Loader, LoaderSource
from cachewright.patterns.aside._loads import Loads, RefreshLoader, load_note, reload
from cachewright.patterns.aside._lock_wait import wait_for_fill
from cachewright.patterns.aside._refresh import LoadTimer, Refresher, refresh_early
from cachewright.patterns.aside._shared_read import SharedRead
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._singleflight import SingleFlight
from cachewright.patterns.aside._stats import AsideCounters, CacheAsideStats
from cachewright.patterns.aside._timeouts import TimedLoads
from cachewright.patterns.aside._warming import ChunkResult, Progress, WarmupReport, run_warmup

__all__ = ["CacheAside", "CacheAsideStats"]

log = logging.getLogger("cachewright.patterns")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

Seconds = float | int | timedelta
#: ``refresh_loader``: the key and the cached entry, to a new value or ``NotModified``


def _seconds(value: Seconds, what: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if isinstance(value, bool) or seconds <= 0:
        raise ConfigurationError(f"{what} must be a positive number of seconds, not {value!r}")
    return seconds


def _tag_names(tags: Iterable[str] | str | None) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        return (tags,)
    return tuple(dict.fromkeys(tags))


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
        "_batches",
        "_cache",
        "_closed",
        "_counters",
        "_early",
        "_filler",
        "_flights",
        "_key",
        "_loader",
        "_loads",
        "_lock",
        "_lock_wait",
        "_mattrs",
        "_max_concurrency",
        "_read_type",
        "_reads",
        "_refresher",
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
        if max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be at least 1, not {max_concurrency}")
        if batch_fill not in ("safe", "fast"):
            raise ConfigurationError(f"batch_fill must be 'safe' or 'fast', not {batch_fill!r}")
        if stale_ttl is not None and ttl is None:
            raise ConfigurationError("stale_ttl needs a ttl: entries without expiry never go stale")
        if batch_fill == "fast" and stale_ttl is not None:
            raise ConfigurationError("batch_fill='fast' cannot write stale_ttl; use 'safe'")
        if early_refresh is not None and early_refresh <= 0:
            raise ConfigurationError(f"early_refresh must be positive, not {early_refresh!r}")
        soft = None if soft_timeout is None else _seconds(soft_timeout, "soft_timeout")
        if soft is not None and stale_ttl is None:
            raise ConfigurationError("soft_timeout needs a stale_ttl: it serves stale values")
        self._signals = Signals(cache, source="cache_aside")
        self._counters = AsideCounters()
        self._timed: TimedLoads[Entry[V | None]] = TimedLoads(
            self._counters,
            self._signals,
            soft=soft,
            hard=None if hard_timeout is None else _seconds(hard_timeout, "hard_timeout"),
        )
        self._cache = cache
        self._loader: Loader[K, V] = Loader(loader, max_concurrency=max_concurrency)
        self._key = KeyMapper[K](key).cache_key
        # A cached None (negative caching) must read back even when ``type`` is a model.
        self._read_type: Any = None if type is None else Optional[type]  # noqa: UP045
        stale = None if stale_ttl is None else _seconds(stale_ttl, "stale_ttl")
        window, until = expiry_options(sliding, expires_at, stale_ttl=stale)
        policy = FillPolicy(
            type=type,
            ttl=None if ttl is None else _seconds(ttl, "ttl"),
            sliding=window,
            expires_at=until,
            stale_ttl=stale,
            tags=_tag_names(tags),
            cache_none=cache_none,
            none_ttl=None if none_ttl is None else _seconds(none_ttl, "none_ttl"),
            lock_ttl=_seconds(lock_ttl, "lock_ttl"),
        )
        self._filler: Filler[V] = Filler(cache, policy, self._counters)
        self._lock = lock
        # Long enough to outlive one dead filler's lease and the next filler's load.
        self._lock_wait = (
            2 * policy.lock_ttl if lock_wait is None else _seconds(lock_wait, "lock_wait")
        )
        self._early = early_refresh
        self._max_concurrency = max_concurrency
        self._flights: SingleFlight[Entry[V | None]] = SingleFlight()
        self._reads: SharedRead[Entry[Any] | Lease | None] = SharedRead()
        # Read-your-writes: a write to a key, through any pattern or the cache itself,
        # stops new readers from joining a load of it that began before the write.
        cache.watch_writes(self._flights)
        cache.watch_writes(self._reads)  # nor a cache read in flight from before it
        cache.watch_writes(self._timed)  # ... nor a hard_timeout load running on past it
        self._refresher = Refresher(limit=max_concurrency)
        self._timer = LoadTimer()
        self._batches: BatchLoader[K, V] = BatchLoader(
            cache,
            self._loader,
            self._filler,
            self._key,
            self._counters,
            self._timer,
            max_concurrency=max_concurrency,
            batch_fill=batch_fill,
        )
        self._mattrs = cache.metrics.attributes(namespace=cache.namespace, pattern="cache_aside")
        self._loads: Loads[K, V] = Loads(
            self._loader,
            self._filler,
            self._counters,
            self._timer,
            cache.metrics,
            self._mattrs,
            self._key,
            refresh_loader,
        )
        self._closed = False
        # Never closed: when collected, cancel the refreshes still running, say so once.
        weakref.finalize(self, _abandon, self._refresher, repr(self))

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
        await self._refresher.close()
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
        return (await self.get_entry(key)).value

    async def get_entry(self, key: K) -> Entry[V | None]:
        """Like :meth:`get`, with the entry's metadata; ``stale`` marks a stale serve."""
        cache_key = self._key(key)
        if not self._flights.running(cache_key):
            # The hit path: one cache read (shared by the callers of this key that
            # arrive meanwhile) and a freshness check; no task, no lock. A miss or a
            # stale entry goes on to the single flight below.
            found, own = await self._reads.run(
                cache_key, lambda: self._cache.lookup(cache_key, self._read_type)
            )
            if isinstance(found, Entry) and not found.stale and not self._due(found):
                self._signals.emit(EventKind.HIT, cache_key)
                return cast("Entry[V | None]", found)  # a string: no typing objects per call
            if own:  # the flight starts from this read rather than reading again
                return await self._flights.run(
                    cache_key, lambda: self._answer(key, cache_key, found)
                )
        return await self._flights.run(cache_key, lambda: self._resolve(key, cache_key))

    async def _resolve(self, key: K, cache_key: str) -> Entry[V | None]:
        found = await self._cache.lookup(cache_key, self._read_type)
        return await self._answer(key, cache_key, found)

    async def _answer(
        self, key: K, cache_key: str, found: Entry[Any] | Lease | None
    ) -> Entry[V | None]:
        if isinstance(found, Entry):
            self._signals.emit(EventKind.HIT, cache_key)
            if found.stale and self._timed.soft is not None and not self._closed:
                reload = functools.partial(self._reload, key, cache_key, found)
                return await self._timed.stale(cache_key, found, reload)
            await self._on_hit(key, cache_key, found)
            return found
        self._signals.emit(EventKind.MISS, cache_key)
        return await self._miss(key, cache_key, found)

    async def _on_hit(self, key: K, cache_key: str, entry: Entry[Any]) -> None:
        if entry.stale:
            self._counters.stale_served += 1
            self._signals.emit(EventKind.STALE, cache_key)
            await self._refresh_later(key, cache_key, entry)
        elif self._early is not None and self._due_early(entry):
            await self._refresh_later(key, cache_key, entry)

    def _due(self, entry: Entry[Any]) -> bool:
        """Whether a fresh entry is due for an early refresh (never without one)."""
        return self._early is not None and self._due_early(entry)

    def _due_early(self, entry: Entry[Any]) -> bool:
        assert self._early is not None
        expiry = entry.fresh_until or entry.expires_at
        return expiry is not None and refresh_early(
            expiry, delta=self._timer.mean, beta=self._early
        )

    async def _miss(self, key: K, cache_key: str, found: Lease | None) -> Entry[V | None]:
        if self._timed.hard is not None and (running := self._timed.running(cache_key)):
            # A caller before us gave up waiting on this key's load: join it.
            return await self._timed.bounded(key, cache_key, running)
        try:
            claim = await self._claim(cache_key, found)
        except CacheUnavailable:
            claim = None  # reads fail open: load, and skip the fill
        if isinstance(claim, Entry):
            await self._on_hit(key, cache_key, claim)
            return cast(Entry[V | None], claim)
        version = claim

        async def load_and_fill() -> Entry[V | None]:
            if version is None:
                return self._filler.loaded(await self._load(key))
            value = await self._load(key, release=cache_key)
            await self._filler.fill(cache_key, value, version)
            return self._filler.loaded(value)

        if self._timed.hard is None or self._closed:
            return await load_and_fill()
        return await self._timed.bounded(
            key, cache_key, self._timed.start(cache_key, load_and_fill)
        )

    async def _claim(self, cache_key: str, found: Lease | None) -> Entry[Any] | bytes | None:
        """Who fills a missing key: us (the version to fill against), another process
        (None: load without filling), or nobody any more (the entry it wrote)."""
        if found is None:
            lease = await self._filler.lease(cache_key)
            if lease is not None:
                return lease.version
            if not self._lock:
                # Someone leased the key since our read, or it holds bytes we cannot read.
                return await self._filler.claim_unreadable(cache_key)
        elif not self._lock:
            return None
        self._counters.lock_waits += 1
        try:
            return await wait_for_fill(
                self._cache,
                cache_key,
                self._read_type,
                lease_ttl=self._filler.policy.lock_ttl,
                tags=self._filler.policy.tags,
                wait=self._lock_wait,
            )
        except LockTimeout:
            self._counters.lock_timeouts += 1
            raise

    async def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values of ``keys`` the cache or the loader has (misses are absent).

        One cache read for all keys, one batched load for the misses (a data store's
        ``get_many``, or concurrent loader calls), then the fill (see ``batch_fill``).
        Stale entries are returned and refreshed in the background. If some loads
        fail, the others are still cached and the first failure is raised unchanged,
        with notes naming its key and the other keys that failed.
        """
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        cache_keys = {key: self._key(key) for key in wanted}
        entries = await self._cache.get_many_entries(cache_keys.values(), self._read_type)
        found: dict[K, V] = {}
        missing: list[K] = []
        for key in wanted:
            entry = entries.get(cache_keys[key])
            if entry is None:
                missing.append(key)
                continue
            await self._on_hit(key, cache_keys[key], entry)
            if entry.value is not None:
                found[key] = entry.value
        if missing:
            loaded, failed = await self._batches.load(
                missing, cache_keys, {}, load_limit=self._max_concurrency
            )
            for key, value in loaded.items():
                if value is not None:
                    found[key] = value
            if failed:
                raise _first_failure(failed, cache_keys, len(missing))
        return found

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
        raises what the loader raised and leaves the cached entry as it was.
        """
        cache_key = self._key(key)
        version: bytes | None = None
        leased = False
        try:
            found = await self._cache.lookup(cache_key)  # untyped: only its version matters
            if isinstance(found, Entry | Lease):
                version = found.version
            else:
                lease = await self._filler.lease(cache_key)
                leased = lease is not None
                version = lease.version if lease is not None else None
                if version is None:
                    version = await self._filler.claim_unreadable(cache_key)
        except CacheUnavailable:
            version = None
        value = await self._load(key, release=cache_key if leased else None)
        if version is not None:
            await self._filler.fill(cache_key, value, version)
        return unwrap(value)

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
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, not {batch_size}")
        limit = self._max_concurrency if concurrency is None else concurrency
        if limit < 1:
            raise ConfigurationError(f"concurrency must be at least 1, not {limit}")
        unique = list(dict.fromkeys(keys))
        # A data store loads a whole chunk per call: run ``limit`` chunks at once. A
        # function loads one key per call: one chunk at a time, ``limit`` calls in it.
        workers = limit if self._loader.batched else 1
        load_limit = 1 if self._loader.batched else limit

        async def warm_chunk(chunk: list[K]) -> ChunkResult:
            return await self._batches.warm_chunk(
                chunk,
                skip_cached=skip_cached,
                load_limit=load_limit,
                cache_limit=max(1, self._max_concurrency // workers),
            )

        return await run_warmup(
            unique, warm_chunk, batch_size=batch_size, workers=workers, progress=progress
        )

    # -- loading and filling -----------------------------------------------------------

    async def _load(self, key: K, *, release: str | None = None) -> Loaded[V]:
        """Call the loader; on failure free the lease at ``release`` and re-raise the
        loader's exception as it was, with a note naming the key."""
        return cast(Loaded[V], await self._loads.one(key, release=release))

    async def _reload(self, key: K, cache_key: str, entry: Entry[Any]) -> Entry[V | None]:
        return await reload(
            self._loads, self._filler, self._signals, self._counters, key, cache_key, entry
        )

    async def _refresh_later(self, key: K, cache_key: str, entry: Entry[Any]) -> None:
        # The job holds the parts it needs, not the CacheAside: one dropped unclosed is
        # collected (and its finalizer cancels the job) even while a refresh runs.
        parts = (self._loads, self._filler, self._signals, self._counters)

        async def job() -> None:
            await reload(*parts, key, cache_key, entry)

        if self._refresher.schedule(cache_key, job):
            self._counters.refreshes += 1


def _first_failure(
    failed: Mapping[Any, Exception], cache_keys: Mapping[Any, str], wanted: int
) -> Exception:
    """The first failure of a batch load, noted with its key and the other failures."""
    (first_key, first), *others = failed.items()
    add_note(first, load_note(first_key, cache_keys[first_key]))
    if others:
        shown = ", ".join(repr(key) for key, _ in others[:10])
        more = f" and {len(others) - 10} more" if len(others) > 10 else ""
        add_note(
            first,
            f"cachewright: {len(failed)} of {wanted} keys failed to load (also "
            f"{shown}{more}); the keys that loaded were cached",
        )
    return first


def _abandon(refresher: Refresher, name: str) -> None:
    """The finalizer of a CacheAside collected without ``close()``."""
    if refresher.closed:
        return
    cancelled = refresher.abandon()
    if cancelled:
        warnings.warn(
            f"{name} was never closed: {cancelled} background refresh(es) cancelled;"
            " use `async with` or `await aside.close()`",
            ResourceWarning,
            stacklevel=1,
        )
