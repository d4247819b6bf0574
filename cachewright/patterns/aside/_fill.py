"""How a CacheAside writes: leases before loads, compare-and-set fills, releases.

The lease and the compare-and-set are the patterns' one fill (:mod:`.._fill`); this
module adds what only cache-aside does: counters, cached Nones, batch fills, releases.

Usage (what ``CacheAside`` does)::

    filler = Filler(cache, policy, counters)
    lease = await filler.lease("user:1")                 # before loading a miss
    value = await load(1)
    await filler.fill("user:1", value, lease.version)    # only if nothing changed since
    entry = filler.loaded(value)                         # what the caller is handed

A fill never raises ``CacheUnavailable``: the value was loaded and the reader gets it
whether or not the cache took it (counted in ``fills_failed``). Releasing is a plain
delete: removing a key is always safe (the next reader loads afresh), and a
compare-and-delete would only spare an entry written in the last milliseconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from cachewright.cache import Cache, Entry, Lease
from cachewright.errors import CacheUnavailable
from cachewright.patterns._fill import FillPolicy, LeaseFill
from cachewright.patterns.aside._adaptive import Cached, Loaded, policy_for, unwrap
from cachewright.patterns.aside._lock_wait import claim_unreadable
from cachewright.patterns.aside._stats import AsideCounters

__all__ = ["Filler"]

log = logging.getLogger("cachewright.patterns")

V = TypeVar("V")


class Filler(Generic[V]):
    __slots__ = ("_cache", "_counters", "_fill", "policy")

    def __init__(self, cache: Cache, policy: FillPolicy, counters: AsideCounters) -> None:
        self._cache = cache
        self.policy = policy
        self._counters = counters
        self._fill: LeaseFill[V] = LeaseFill(cache, policy)

    async def lease(self, cache_key: str) -> Lease | None:
        """Lease a missing key (tagged, so tag invalidations kill it too)."""
        return await self._fill.lease(cache_key)

    async def claim_unreadable(self, cache_key: str) -> bytes | None:
        policy = self.policy
        return await claim_unreadable(
            self._cache, cache_key, lease_ttl=policy.lock_ttl, tags=policy.tags
        )

    async def write(self, cache_key: str, value: V | None) -> None:
        """An unconditional write (``CacheAside.set``); raises ``CacheUnavailable``."""
        policy = self.policy
        deadline = policy.deadline()
        if policy.passed(deadline) or (value is None and not policy.cache_none):
            await self._cache.delete(cache_key)
            return
        if value is None:
            await self._cache.set(
                cache_key, None, policy.none_ttl, expires_at=deadline, tags=policy.tags
            )
            return
        await self._cache.set(
            cache_key,
            value,
            policy.ttl,
            sliding=policy.sliding,
            expires_at=deadline,
            stale_ttl=policy.stale_ttl,
            tags=policy.tags,
            type=policy.type,
        )

    async def fill(self, cache_key: str, result: Loaded[V], version: bytes) -> bool:
        """Write a loaded value if the key still holds ``version``; True if written.

        ``result`` may be a :class:`Cached` wrapper with its own ttl and tags, or
        ``Cached.skip(value)``, which is not written (adaptive caching).
        """
        policy = policy_for(self.policy, result)
        value = unwrap(result)
        if policy is None or (value is None and not policy.cache_none):
            await self.discard(cache_key)  # nothing to cache: free the key at once
            return False
        fill = self._fill if policy is self.policy else LeaseFill[V](self._cache, policy)
        try:
            stored = await fill.fill(cache_key, value, version)
        except CacheUnavailable as exc:
            self._counters.fills_failed += 1
            log.debug("fill of %r skipped, cache unavailable: %s", cache_key, exc)
            return False
        if stored:
            self._counters.fills += 1
        else:
            # A write, delete or invalidation reached the key while we loaded (G10).
            self._counters.fills_refused += 1
        return stored

    async def fill_fast(self, results: Mapping[str, Loaded[V]]) -> list[str]:
        """Write a batch unconditionally: one ``set_many`` (two with cached Nones).

        Values a loader wrapped in ``Cached`` (their own ttl or tags) are written one
        ``set`` each; ``Cached.skip`` values are not written. Returns the keys written.
        """
        policy = self.policy
        deadline = policy.deadline()
        if policy.passed(deadline):
            return []  # past expires_at: nothing to cache
        loaded: dict[str, V | None] = {}
        written: list[str] = []
        for key, result in results.items():
            if isinstance(result, Cached):
                if await self._write_adapted(key, result, deadline):
                    written.append(key)
            else:
                loaded[key] = result
        values = {key: value for key, value in loaded.items() if value is not None}
        nones: dict[str, None] = {}
        if policy.cache_none:
            nones = {key: None for key, value in loaded.items() if value is None}
        try:
            if values:
                await self._cache.set_many(
                    values,
                    policy.ttl,
                    sliding=policy.sliding,
                    expires_at=deadline,
                    tags=policy.tags,
                    type=policy.type,
                )
            if nones:
                await self._cache.set_many(
                    nones, policy.none_ttl, expires_at=deadline, tags=policy.tags
                )
        except CacheUnavailable as exc:
            self._counters.fills_failed += len(values) + len(nones)
            log.debug("batch fill skipped, cache unavailable: %s", exc)
            return written
        self._counters.fills += len(values) + len(nones)
        return [*written, *values, *nones]

    async def _write_adapted(
        self, cache_key: str, result: Cached[V], deadline: datetime | None
    ) -> bool:
        policy = policy_for(self.policy, result)
        if policy is None or result.value is None:
            return False
        try:
            await self._cache.set(
                cache_key,
                result.value,
                policy.ttl,
                sliding=policy.sliding,
                expires_at=deadline,
                stale_ttl=policy.stale_ttl,
                tags=policy.tags,
                type=policy.type,
            )
        except CacheUnavailable:
            self._counters.fills_failed += 1
            return False
        self._counters.fills += 1
        return True

    async def extend(self, cache_key: str, stale: Entry[V | None]) -> tuple[Entry[V | None], bool]:
        """Keep a stale entry's value for another ``ttl`` (a refresh said NotModified);
        the entry the caller sees, and whether the cache took the extension.

        A compare-and-set against the stale entry's version: the value the cache
        already holds is written back with a new life (no loader value is produced, no
        fill is counted). A write or invalidation that landed since wins (G10).
        """
        policy = dataclasses.replace(self.policy, tags=stale.tags or self.policy.tags)
        stored = False
        try:
            fill = LeaseFill[V](self._cache, policy)
            stored = await fill.fill(cache_key, stale.value, stale.version)
        except CacheUnavailable as exc:
            log.debug("extension of %r skipped, cache unavailable: %s", cache_key, exc)
        self._counters.extended += 1
        entry = self.loaded(stale.value)
        extended = Entry(
            value=entry.value,
            tags=policy.tags,
            expires_at=entry.expires_at,
            fresh_until=entry.fresh_until,
            written_at=entry.written_at,
        )
        return extended, stored

    async def discard(self, cache_key: str) -> None:
        # If the cache is down, a lease expires by itself after lock_ttl.
        with contextlib.suppress(CacheUnavailable):
            await self._cache.delete(cache_key)
            if self.policy.notify:  # lock waiters elsewhere read the key again at once
                await self._cache.fills.released(cache_key)

    async def discard_many(self, cache_keys: Iterable[str]) -> None:
        with contextlib.suppress(CacheUnavailable):
            await self._cache.delete_many(cache_keys)

    def loaded(self, result: Loaded[V]) -> Entry[V | None]:
        """The entry a caller sees for a value just loaded (cached or not)."""
        policy = policy_for(self.policy, result) or self.policy
        value = unwrap(result)
        now = datetime.now(UTC)
        deadline = policy.deadline()
        if value is None:
            cached_for = policy.none_ttl if policy.cache_none else None
            until = None if cached_for is None else now + timedelta(seconds=cached_for)
            until = _earliest(until, deadline) if policy.cache_none else None
            return Entry(value=None, tags=policy.tags, expires_at=until, written_at=now)
        if policy.sliding is not None:
            life = now + timedelta(seconds=policy.sliding)
            cap = None if policy.ttl is None else now + timedelta(seconds=policy.ttl)
            until = _earliest(_earliest(life, cap), deadline)
            return Entry(value=value, tags=policy.tags, expires_at=until, written_at=now)
        if policy.ttl is None:
            return Entry(value=value, tags=policy.tags, expires_at=deadline, written_at=now)
        fresh_until = _earliest(now + timedelta(seconds=policy.ttl), deadline)
        assert fresh_until is not None
        expires_at = fresh_until + timedelta(seconds=policy.stale_ttl or 0)
        return Entry(
            value=value,
            tags=policy.tags,
            expires_at=expires_at,
            fresh_until=fresh_until if policy.stale_ttl else None,
            written_at=now,
        )


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
