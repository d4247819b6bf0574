"""The Cache's read path: local tier first, then the backend; decode, count, slide.

Usage (what :class:`~cachewright.cache.Cache` does)::

    reads = ReadPath(keys, backend, serializer, guard, counters, metrics, attributes)
    reads.attach(local, coherence)                 # with a local tier
    found = await reads.lookup("user:1", User)     # Entry | Lease | None
    entries = await reads.many(["user:1", "user:2"], User)
    values = await reads.values(["user:1", "user:2"], User)   # get_many: fresh values

Every read outcome is counted here (hits, misses, stale hits, corrupt entries, type
mismatches); sliding entries are extended on read (G4) with their tag indexes (G3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from cachewright._metrics import Metrics
from cachewright.cache._bulk import split, validate
from cachewright.cache._expiry import now_ms
from cachewright.cache._guard import Guard
from cachewright.cache._serializer import Corrupt, Lease, Serializer, sliding_life
from cachewright.cache._stats import Counters
from cachewright.cache.backends.base import Backend
from cachewright.cache.entry import Entry
from cachewright.cache.envelope import HEADER_SIZE
from cachewright.cache.keys import KeyBuilder
from cachewright.cache.local import Coherence, LocalStore
from cachewright.errors import TypeMismatch

__all__ = ["ReadPath"]

log = logging.getLogger("cachewright.cache")


class ReadPath:
    __slots__ = (
        "_backend",
        "_coherence",
        "_counters",
        "_guard",
        "_keys",
        "_local",
        "_mattrs",
        "_metrics",
        "_read_from",
        "_serializer",
    )

    def __init__(
        self,
        keys: KeyBuilder,
        backend: Backend,
        serializer: Serializer,
        guard: Guard,
        counters: Counters,
        metrics: Metrics,
        attributes: Any,
        reader: Backend | None = None,
    ) -> None:
        self._keys = keys
        self._backend = backend  # the primary: the touch of a sliding entry
        self._read_from = reader or backend  # gets (replicas, with read_from_replicas)
        self._serializer = serializer
        self._guard = guard
        self._counters = counters
        self._metrics = metrics
        self._mattrs = attributes
        self._local: LocalStore | None = None
        self._coherence: Coherence | None = None

    def attach(self, local: LocalStore, coherence: Coherence) -> None:
        """Put the local tier in front of the backend."""
        self._local = local
        self._coherence = coherence

    async def lookup(self, key: str, type: Any) -> Entry[Any] | Lease | None:
        """The entry, a lease placeholder, or None; a local hit answers first."""
        local = self._local
        ticket = 0
        if local is not None:
            hit = local.get(key, type)
            if hit is not None:
                self._counters.hits += 1
                self._metrics.hit(self._mattrs)
                self._counters.local_hits += 1
                return hit
            ticket = self.remote_ticket(local)
        physical = self._keys.entry(key)
        raw = await self._guard.read(None, self._read_from.get, physical, at=physical)
        if raw is None:
            self.missed()
            return None
        # found()'s work, without its coroutine: a hit that does not slide awaits nothing
        now = now_ms()
        found = self.classify(physical, raw, type, now)
        if isinstance(found, Entry):
            life = sliding_life(raw, now)
            if life:
                await self.slide(physical, raw, found, life)
            if local is not None:
                local.fill(key, raw, type, found, ticket)
        return found

    def missed(self) -> None:
        """Count a key the backend does not hold."""
        self._counters.misses += 1
        self._metrics.miss(self._mattrs)

    def remote_ticket(self, local: LocalStore) -> int:
        # The first read that reaches Redis also starts the invalidation listener
        # (for caches used without ``async with``).
        if self._coherence is not None:
            self._coherence.ensure_started()
        return local.ticket()

    def decode_local(self, raw: bytes, tp: Any) -> Entry[Any] | None:
        """Decode a locally kept entry as another type (no I/O)."""
        try:
            result = self._serializer.decode(raw, tp, now_ms())
        except TypeMismatch:
            self._counters.type_mismatches += 1
            raise
        return result if isinstance(result, Entry) else None

    async def found(
        self, physical: str, raw: bytes, tp: Any, now: int
    ) -> Entry[Any] | Lease | None:
        """Classify ``raw`` and slide a sliding entry (what :meth:`lookup` does inline)."""
        result = self.classify(physical, raw, tp, now)
        if isinstance(result, Entry):
            life = sliding_life(raw, now)
            if life:
                await self.slide(physical, raw, result, life)
        return result

    def classify(self, physical: str, raw: bytes, tp: Any, now: int) -> Entry[Any] | Lease | None:
        """Decode stored bytes and count the outcome: an entry, a lease, or None."""
        try:
            result = self._serializer.decode(raw, tp, now)
        except TypeMismatch:
            self._counters.type_mismatches += 1
            raise
        if isinstance(result, Corrupt):
            self._counters.corrupt += 1
            self.missed()
            log.warning("unreadable entry at %r read as a miss", physical)
            return None
        if isinstance(result, Lease):
            self.missed()
            return result
        if result.stale:
            self._counters.stale_hits += 1
        else:
            self._counters.hits += 1
            self._metrics.hit(self._mattrs)
        return result

    async def slide(self, physical: str, raw: bytes, entry: Entry[Any], life: int) -> None:
        # Sliding expiry (G4): extend on read by ``life`` (never past the absolute
        # deadline: sliding_life caps it), and only if the entry is still the one we read
        # (a newer write keeps its own life). The tag indexes move with it, or trimming
        # would orphan a live entry (G3).
        tag_keys = self._keys.tags(entry.tags) if entry.tags else ()
        await self._guard.read(
            False, self._backend.touch_if, physical, raw[:HEADER_SIZE], life, tag_keys, at=physical
        )

    async def values(self, keys: Iterable[str], type: Any) -> dict[str, Any]:
        """The fresh values of the hits among ``keys``: what ``Cache.get_many`` returns.

        Without a local tier and with the JSON codec, the plain entries of the batch
        are validated in one pydantic call (see :mod:`._bulk`); the batch goes entry by
        entry, as single reads do, only if one of them fails.
        """
        if self._local is not None or not self._serializer.plain_json:
            entries = await self.many(keys, type)
            return {key: entry.value for key, entry in entries.items() if not entry.stale}
        user_keys = self._keys.unique(keys)
        if not user_keys:
            return {}
        physical = self._keys.prefixed(user_keys)  # checked by unique() above
        raws = await self._guard.read_many(physical, self._read_from.get_many)
        now = now_ms()
        plain, payloads, other = split(raws, now)
        values = validate(payloads, type) if payloads else []
        if values is None:  # one of them did not validate: entry by entry, as a get would
            entries = await self._decode(user_keys, physical, raws, type, now, 0)
            return {key: entry.value for key, entry in entries.items() if not entry.stale}
        found = len(plain)
        self._counters.hits += found
        self._metrics.hit(self._mattrs, found)
        missed = len(raws) - found - len(other)
        self._counters.misses += missed
        self._metrics.miss(self._mattrs, missed)
        if not other:
            if found == len(user_keys):  # every key a plain hit: no index to look up
                return dict(zip(user_keys, values, strict=True))
            return dict(zip([user_keys[i] for i in plain], values, strict=True))
        # Some hits need the per-entry path (tags, a sliding window, a stale grace, ...);
        # the result keeps the asked order.
        rest = await self._decode(
            [user_keys[i] for i in other], [physical[i] for i in other],
            [raws[i] for i in other], type, now, 0,
        )  # fmt: skip
        by_index: dict[int, Any] = dict(zip(plain, values, strict=True))
        for i in other:
            entry = rest.get(user_keys[i])
            if entry is not None and not entry.stale:
                by_index[i] = entry.value
        return {user_keys[i]: by_index[i] for i in sorted(by_index)}

    async def many(self, keys: Iterable[str], type: Any) -> dict[str, Entry[Any]]:
        """Entries (stale ones included) for the hits among ``keys``."""
        user_keys = self._keys.unique(keys)
        hits: dict[str, Entry[Any]] = {}
        local = self._local
        remote = user_keys
        ticket = 0
        if local is not None:
            remote = []
            for key in user_keys:
                hit = local.get(key, type)
                if hit is None:
                    remote.append(key)
                else:
                    hits[key] = hit
            self._counters.hits += len(hits)
            self._metrics.hit(self._mattrs, len(hits))
            self._counters.local_hits += len(hits)
            if not remote:
                return hits
            ticket = self.remote_ticket(local)
        physical = self._keys.prefixed(remote)  # checked by unique() above
        if not physical:
            return {}
        raws = await self._guard.read_many(physical, self._read_from.get_many)
        hits.update(await self._decode(remote, physical, raws, type, now_ms(), ticket))
        if local is not None and len(hits) > 1:
            return {key: hits[key] for key in user_keys if key in hits}  # the asked order
        return hits

    async def _decode(
        self,
        user_keys: list[str],
        physical: list[str],
        raws: list[bytes | None],
        type: Any,
        now: int,
        ticket: int,
    ) -> dict[str, Entry[Any]]:
        """Entry by entry: decode, count, slide, and fill the local tier (if any)."""
        hits: dict[str, Entry[Any]] = {}
        local = self._local
        sliding: list[tuple[str, bytes, Entry[Any], int]] = []
        for user_key, key, raw in zip(user_keys, physical, raws, strict=True):
            if raw is None:
                self.missed()
                continue
            found = self.classify(key, raw, type, now)
            if isinstance(found, Entry):
                hits[user_key] = found
                life = sliding_life(raw, now)
                if life:
                    sliding.append((key, raw, found, life))
                if local is not None:
                    local.fill(user_key, raw, type, found, ticket)
        if sliding:  # rare: only sliding entries cost a second round trip
            await asyncio.gather(*(self.slide(*touch) for touch in sliding))
        return hits
