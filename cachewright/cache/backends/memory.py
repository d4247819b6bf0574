"""The embedded default backend: process memory, bounded, no background threads.

Usage::

    backend = MemoryBackend(max_entries=10_000)
    cache = Cache(backend, namespace="shop")

Entries are bytes (the same envelopes Redis holds), so a value read back is always a
fresh object and the byte size is known. Expiry is lazy: an expired entry is dropped
when touched, and a bounded sweep runs on writes so memory follows live entries.
Beyond ``max_entries`` the least recently used entry is evicted. Tag indexes are
dicts of key -> expiry, trimmed on every tagged write, as on Redis.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from cachewright.cache._glob import glob_to_regex
from cachewright.cache.backends.base import SetItem
from cachewright.cache.backends.fills import LOST, FillHub, FillNotice
from cachewright.errors import CacheError

__all__ = ["MemoryBackend"]

_SWEEP_BATCH = 64


def _now_ms() -> float:
    return time.monotonic() * 1000.0


class MemoryBackend:
    """A bounded LRU of bytes with TTLs, tag indexes and counters."""

    __slots__ = ("_data", "_expiry", "_hits", "_hubs", "_misses", "_tags", "max_entries")

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._expiry: dict[str, float] = {}  # key -> deadline in monotonic ms
        self._tags: dict[str, dict[str, float]] = {}  # tag key -> {key: deadline}
        self._hits = 0
        self._misses = 0
        self._hubs: dict[str, FillHub] = {}  # fill notices, in process, by channel

    def __repr__(self) -> str:
        return f"MemoryBackend(entries={len(self._data)}, max_entries={self.max_entries})"

    # -- internals -----------------------------------------------------------------

    def _live(self, key: str, now: float) -> bytes | None:
        value = self._data.get(key)
        if value is None:
            return None
        deadline = self._expiry.get(key)
        if deadline is not None and deadline <= now:
            self._drop(key)
            return None
        return value

    def _drop(self, key: str) -> bool:
        self._expiry.pop(key, None)
        return self._data.pop(key, None) is not None

    def _store(self, key: str, value: bytes, ttl_ms: int | None, now: float) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if ttl_ms is None:
            self._expiry.pop(key, None)
        else:
            self._expiry[key] = now + ttl_ms
        if len(self._data) > self.max_entries:
            self._sweep(now)
            while len(self._data) > self.max_entries:
                oldest = next(iter(self._data))
                self._drop(oldest)

    def _sweep(self, now: float) -> None:
        # Bounded: look at the oldest few entries only, so a write never costs O(n).
        for key in list(self._data)[:_SWEEP_BATCH]:
            deadline = self._expiry.get(key)
            if deadline is not None and deadline <= now:
                self._drop(key)

    def _index(self, tags: Sequence[str], key: str, ttl_ms: int | None, now: float) -> None:
        deadline = math.inf if ttl_ms is None else now + ttl_ms
        for tag in tags:
            members = self._tags.setdefault(tag, {})
            members[key] = deadline
            self._trim(tag, members, now)

    def _reindex(self, tags: Sequence[str], key: str, ttl_ms: int | None, now: float) -> None:
        # A longer life must move the index deadline too, or trimming would orphan the entry.
        deadline = math.inf if ttl_ms is None else now + ttl_ms
        for tag in tags:
            members = self._tags.setdefault(tag, {})
            members[key] = max(deadline, members.get(key, 0.0))

    def _trim(self, tag: str, members: dict[str, float], now: float) -> None:
        expired = [member for member, deadline in members.items() if deadline <= now]
        for member in expired:
            del members[member]
        if not members:
            del self._tags[tag]

    # -- Backend protocol ------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        value = self._live(key, _now_ms())
        if value is None:
            self._misses += 1
            return None
        self._hits += 1
        self._data.move_to_end(key)
        return value

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set(
        self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
    ) -> None:
        now = _now_ms()
        if tags:
            self._index(tags, key, ttl_ms, now)
        self._store(key, value, ttl_ms, now)

    async def set_many(self, items: Sequence[SetItem], tags: Sequence[str] = ()) -> None:
        now = _now_ms()
        for key, value, ttl_ms in items:
            if tags:
                self._index(tags, key, ttl_ms, now)
            self._store(key, value, ttl_ms, now)

    async def add(
        self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
    ) -> bool:
        now = _now_ms()
        if self._live(key, now) is not None:
            return False
        if tags:
            self._index(tags, key, ttl_ms, now)
        self._store(key, value, ttl_ms, now)
        return True

    async def compare_and_set(
        self,
        key: str,
        expected_prefix: bytes,
        value: bytes,
        ttl_ms: int | None,
        tags: Sequence[str] = (),
    ) -> bool:
        now = _now_ms()
        current = self._live(key, now)
        if current is None or not current.startswith(expected_prefix):
            return False
        if tags:
            self._index(tags, key, ttl_ms, now)
        self._store(key, value, ttl_ms, now)
        return True

    # -- fill notices: in process (see .fills) -----------------------------------------

    async def lease_or_get(
        self, key: str, lease: bytes, ttl_ms: int, tags: Sequence[str] = ()
    ) -> bytes | None:
        found = self._live(key, _now_ms())
        if found is not None:
            return found
        await self.add(key, lease, ttl_ms, tags)
        return None

    async def fill_notify(
        self,
        key: str,
        expected_prefix: bytes,
        value: bytes,
        ttl_ms: int | None,
        tags: Sequence[str],
        channel: str,
    ) -> bool:
        written = await self.compare_and_set(key, expected_prefix, value, ttl_ms, tags)
        hub = self._hubs.get(channel)
        if hub is not None:
            hub.deliver(key, FillNotice(filled=True, value=value) if written else LOST)
        return written

    async def notify_released(self, key: str, channel: str) -> None:
        hub = self._hubs.get(channel)
        if hub is not None:
            hub.deliver(key, LOST)

    async def fill_hub(self, channel: str, seconds: float) -> FillHub | None:
        hub = self._hubs.get(channel)
        if hub is None:
            hub = self._hubs[channel] = FillHub()
            hub.up = True
        return hub

    async def touch_if(
        self, key: str, expected_prefix: bytes, ttl_ms: int, tags: Sequence[str] = ()
    ) -> bool:
        now = _now_ms()
        current = self._live(key, now)
        if current is None or not current.startswith(expected_prefix):
            return False
        self._expiry[key] = now + ttl_ms
        self._reindex(tags, key, ttl_ms, now)
        return True

    async def delete(self, key: str) -> bool:
        existed = self._live(key, _now_ms()) is not None
        self._drop(key)
        return existed

    async def delete_many(self, keys: Sequence[str]) -> int:
        return sum([await self.delete(key) for key in keys])

    async def delete_pattern(self, pattern: str) -> int:
        regex = glob_to_regex(pattern)
        now = _now_ms()
        matched = [key for key in self._data if regex.match(key)]
        # Tag indexes are keys too on Redis: a pattern that names them removes them,
        # uncounted (the count is of entries).
        for tag in [tag for tag in self._tags if regex.match(tag)]:
            del self._tags[tag]
        return sum(1 for key in matched if self._live(key, now) is not None and self._drop(key))

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        now = _now_ms()
        removed = 0
        for tag in tags:
            members = self._tags.pop(tag, {})
            for member, deadline in members.items():
                if deadline > now and self._live(member, now) is not None:
                    removed += self._drop(member)
        return removed

    async def exists(self, key: str) -> bool:
        return self._live(key, _now_ms()) is not None

    async def pttl(self, key: str) -> int | None:
        now = _now_ms()
        if self._live(key, now) is None:
            return None
        deadline = self._expiry.get(key)
        return -1 if deadline is None else max(0, math.ceil(deadline - now))

    async def expire(self, key: str, ttl_ms: int | None, tags: Sequence[str] = ()) -> bool:
        now = _now_ms()
        if self._live(key, now) is None:
            return False
        if ttl_ms is None:
            self._expiry.pop(key, None)
        else:
            self._expiry[key] = now + ttl_ms
        self._reindex(tags, key, ttl_ms, now)
        return True

    async def incr(self, key: str, amount: int | float) -> int | float:
        now = _now_ms()
        current = self._live(key, now)
        try:
            if isinstance(amount, int):
                result: int | float = (int(current) if current is not None else 0) + amount
            else:
                result = (float(current) if current is not None else 0.0) + amount
        except ValueError as exc:
            raise CacheError(f"the value at {key!r} is not a number") from exc
        text = repr(result) if isinstance(result, float) else str(result)
        if current is None:
            self._store(key, text.encode(), None, now)
        else:
            self._data[key] = text.encode()  # INCRBY keeps the key's expiry
            self._data.move_to_end(key)
        return result

    async def info(self) -> Mapping[str, object]:
        total = self._hits + self._misses
        return {
            "mode": "memory",
            "database_keys": len(self._data),
            "max_entries": self.max_entries,
            "used_memory": sum(len(k) + len(v) for k, v in self._data.items()),
            "tag_indexes": len(self._tags),
            "keyspace_hits": self._hits,
            "keyspace_misses": self._misses,
            "keyspace_hit_ratio": self._hits / total if total else None,
        }

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
