"""The miss path of a CacheAside: who fills the key (lease, lock wait), load and fill.

Usage (what ``CacheAside`` does in its single flight, and in ``refresh``)::

    misses = MissPath(cache, User, filler, loads, signals, counters, timed, refreshes,
                      lock=True, lock_wait=20.0)
    entry = await misses.answer(42, "user:42", found)  # what the cache read found
    value = await misses.refresh(42, "user:42")        # reload now

Only misses and stale (or early-due) entries get here: a fresh hit never does. A
stale entry is served (or, with ``soft_timeout``, waited for) and refreshed.

A miss leases the key (G10) and fills it by compare-and-set after the load; with
``lock`` it waits for another process's lease instead (G7). A cache that cannot be
reached never fails the read: the value is loaded and the fill skipped. With
``hard_timeout`` the whole miss (lease, lock wait, load, fill) runs as a background
load the caller waits for up to ``hard_timeout``; ``refresh`` the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any, Generic, TypeVar, cast

from cachewright.cache import Cache, Entry, Lease
from cachewright.errors import CacheUnavailable, LockTimeout
from cachewright.events import EventKind
from cachewright.patterns.aside._adaptive import Loaded
from cachewright.patterns.aside._fill import Filler
from cachewright.patterns.aside._loads import Loads
from cachewright.patterns.aside._lock_wait import claim_or_wait
from cachewright.patterns.aside._revalidate import Revalidation
from cachewright.patterns.aside._signals import Signals
from cachewright.patterns.aside._stats import AsideCounters
from cachewright.patterns.aside._timeouts import TimedLoads

__all__ = ["MissPath"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class MissPath(Generic[K, V]):
    """Loads and fills of missing keys, holding the parts they need (not the CacheAside)."""

    __slots__ = (
        "_cache",
        "_closed",
        "_counters",
        "_filler",
        "_loads",
        "_lock",
        "_lock_wait",
        "_read_type",
        "_refreshes",
        "_signals",
        "_timed",
    )

    def __init__(
        self,
        cache: Cache,
        read_type: Any,
        filler: Filler[V],
        loads: Loads[K, V],
        signals: Signals,
        counters: AsideCounters,
        timed: TimedLoads[Entry[V | None]],
        refreshes: Revalidation[K, V],
        *,
        lock: bool,
        lock_wait: float,
    ) -> None:
        self._cache = cache
        self._read_type = read_type
        self._filler = filler
        self._loads = loads
        self._signals = signals
        self._counters = counters
        self._timed = timed
        self._refreshes = refreshes
        self._lock = lock
        self._lock_wait = lock_wait
        self._closed = False

    def close(self) -> None:
        """Start no more background loads: after it, a read waits for its own load."""
        self._closed = True

    async def answer(
        self, key: K, cache_key: str, found: Entry[Any] | Lease | None
    ) -> Entry[V | None]:
        """The entry of a key whose cache read was a miss or a stale or early-due hit."""
        if isinstance(found, Entry):
            self._signals.emit(EventKind.HIT, cache_key)
            if found.stale and self._timed.soft is not None and not self._closed:
                reload = functools.partial(
                    self._refreshes.reload, key, cache_key, found, self._timed.landed
                )
                return await self._timed.stale(cache_key, found, reload)
            await self._refreshes.on_hit(key, cache_key, found)
            return found
        self._signals.emit(EventKind.MISS, cache_key)
        if self._timed.hard is None or self._closed:
            return await self._miss(key, cache_key, found)
        # hard_timeout bounds the whole miss: the lease, a wait on another process's
        # lock, the load and the fill. Past it, all of it goes on in the background.
        task = self._timed.running(cache_key)  # a caller before us gave up: join it
        if task is None:
            task = self._timed.start(cache_key, lambda: self._miss(key, cache_key, found))
        return await self._timed.bounded(key, cache_key, task)

    async def _miss(self, key: K, cache_key: str, found: Lease | None) -> Entry[V | None]:
        try:
            claim = await self.claim(cache_key, found)
        except CacheUnavailable:
            claim = None  # reads fail open: load, and skip the fill
        if isinstance(claim, Entry):
            await self._refreshes.on_hit(key, cache_key, claim)
            return cast(Entry[V | None], claim)
        if claim is None:
            return self._filler.loaded(await self._load(key))
        value = await self._load(key, release=cache_key)
        self._timed.landed(cache_key, await self._filler.fill(cache_key, value, claim))
        return self._filler.loaded(value)

    async def claim(self, cache_key: str, found: Lease | None) -> Entry[Any] | bytes | None:
        """Who fills a missing key: us (the version to fill against), another process
        (None: load without filling), or nobody any more (the entry it wrote)."""
        if self._lock:
            return await self._claim_or_wait(cache_key)
        if found is not None:
            return None  # another process's lease: load, and leave the fill to it
        lease = await self._filler.lease(cache_key)
        if lease is not None:
            return lease.version
        # Someone leased the key since our read, or it holds bytes we cannot read.
        return await self._filler.claim_unreadable(cache_key)

    async def _claim_or_wait(self, cache_key: str) -> Entry[Any] | bytes:
        try:
            return await claim_or_wait(
                self._cache,
                cache_key,
                self._read_type,
                lease_ttl=self._filler.policy.lock_ttl,
                tags=self._filler.policy.tags,
                wait=self._lock_wait,
                on_wait=self._waiting,
            )
        except LockTimeout:
            self._counters.lock_timeouts += 1
            raise

    def _waiting(self) -> None:
        """This miss waits on another process's lease."""
        self._counters.lock_waits += 1

    async def refresh(self, key: K, cache_key: str) -> Loaded[V]:
        """Load ``key`` now and fill it against what the key held when this began;
        with ``hard_timeout``, raise ``LoaderTimeout`` past it (the refresh goes on)."""
        if self._timed.hard is None or self._closed:
            return await self._refresh(key, cache_key)
        task = self._timed.spawn(lambda: self._refresh(key, cache_key))
        return await self._timed.bounded_batch(
            (cache_key,), task, f"the refresh of key {key!r} (cache key {cache_key!r})"
        )

    async def _refresh(self, key: K, cache_key: str) -> Loaded[V]:
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
            self._timed.landed(cache_key, await self._filler.fill(cache_key, value, version))
        return value

    async def _load(self, key: K, *, release: str | None = None) -> Loaded[V]:
        """Call the loader; on failure free the lease at ``release`` and re-raise the
        loader's exception as it was, with a note naming the key."""
        return cast(Loaded[V], await self._loads.one(key, release=release))
