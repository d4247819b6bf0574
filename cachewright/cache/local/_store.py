"""The local tier's store: an LRU of entries with local deadlines and fill fences.

Usage (what :class:`~cachewright.cache.Cache` does)::

    store = LocalStore(LocalTier(max_entries=10_000, ttl=5.0), decode)
    entry = store.get("user:1", User)         # Entry | None, no I/O
    ticket = store.ticket()                   # before asking Redis
    raw = ...                                 # the Redis read
    store.fill("user:1", raw, User, entry, ticket)   # refused if invalidated meanwhile
    store.drop(["user:1"]); store.drop_tags(["users"]); store.clear()

Fences: an invalidation that lands while a Redis read is in flight must win over
that read's fill, or the tier would keep the value the invalidation removed. Every
invalidation bumps a sequence number; a fill carries the number seen before its read
and is refused if its key (or, for tags, patterns, clears and channel outages,
everything) was invalidated since.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from cachewright.cache._expiry import now_ms
from cachewright.cache.entry import Entry
from cachewright.cache.envelope import LEASE, MAGIC
from cachewright.cache.local.tier import LocalTier

__all__ = ["SLIDING_FRACTION", "LocalStore"]

#: a sliding entry is kept locally at most this fraction of its window, so reads
#: reach Redis (and extend the entry there, G4) at least that often while it is hot
SLIDING_FRACTION = 0.25

#: keys whose drop times are remembered for fencing; beyond it, a broad fence
_RECENT_MAX = 4096

# Header offsets (see envelope.py): flags, expires_at_ms, sliding_ms, fresh_until_ms.
_FLAGS = 3
_EXPIRES = slice(12, 20)
_SLIDING = slice(20, 28)
_FRESH = slice(28, 36)

Decode = Callable[[bytes, Any], Entry[Any] | None]


class _Item:
    __slots__ = ("deadline", "entries", "raw", "size", "tags")

    def __init__(self, raw: bytes, deadline: float, tags: tuple[str, ...], size: int) -> None:
        self.raw = raw
        self.deadline = deadline
        self.tags = tags
        self.size = size
        # Decoded entries per requested type: a hit skips JSON entirely.
        self.entries: dict[Any, Entry[Any]] = {}


class LocalStore:
    """Entries of one namespace kept in process memory; not thread-safe (one loop)."""

    __slots__ = (
        "_broad",
        "_by_tag",
        "_decode",
        "_items",
        "_max_bytes",
        "_max_entries",
        "_recent",
        "_seq",
        "_share",
        "_trusted",
        "_ttl",
        "bypassed",
        "bytes",
        "evictions",
        "expirations",
        "fills",
        "hits",
        "invalidated",
        "misses",
    )

    def __init__(self, config: LocalTier, decode: Decode) -> None:
        self._max_entries = config.max_entries
        self._max_bytes = config.max_bytes
        self._ttl = config.ttl
        self._share = config.share_values
        self._decode = decode
        self._items: OrderedDict[str, _Item] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}
        self._recent: dict[str, int] = {}
        self._seq = 0
        self._broad = 0
        # Not trusted until the invalidation channel says it is listening.
        self._trusted = False
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.bypassed = 0
        self.fills = 0
        self.evictions = 0
        self.expirations = 0
        self.invalidated = 0

    def __len__(self) -> int:
        return len(self._items)

    # -- the hot path ------------------------------------------------------------------

    def get(self, key: str, tp: Any) -> Entry[Any] | None:
        """The fresh local entry for ``key`` as ``tp``, or None (ask Redis)."""
        if not self._trusted:
            self.bypassed += 1
            return None
        try:
            item = self._items.get(key)
        except TypeError:  # an unhashable key: the remote path refuses it properly
            return None
        if item is None:
            self.misses += 1
            return None
        if item.deadline <= time.monotonic():
            self._remove(key, item)
            self.expirations += 1
            self.misses += 1
            return None
        self._items.move_to_end(key)
        if self._share:
            try:
                entry = item.entries.get(tp)
            except TypeError:  # an unhashable type expression: decoded on every hit
                entry = None
        else:
            entry = None
        if entry is None:
            entry = self._decode_into(item, tp)
            if entry is None:
                self.misses += 1
                return None
        self.hits += 1
        return entry

    def _decode_into(self, item: _Item, tp: Any) -> Entry[Any] | None:
        entry = self._decode(item.raw, tp)  # TypeMismatch propagates, as from Redis
        if entry is not None:
            self._keep_decoded(item, tp, entry)
        return entry

    def _keep_decoded(self, item: _Item, tp: Any, entry: Entry[Any]) -> None:
        if self._share:
            with contextlib.suppress(TypeError):  # unhashable types are decoded per hit
                item.entries[tp] = entry

    # -- fills ---------------------------------------------------------------------------

    def ticket(self) -> int:
        """The fence to pass to :meth:`fill` for a Redis read starting now."""
        return self._seq

    def fill(self, key: str, raw: bytes, tp: Any, entry: Entry[Any], ticket: int) -> bool:
        """Keep what Redis returned, unless an invalidation happened since ``ticket``."""
        if not self._trusted or ticket < self._broad or self._recent.get(key, -1) > ticket:
            return False
        if raw[:2] != MAGIC or raw[_FLAGS] & LEASE:
            return False  # counters change by INCR, which publishes nothing: never kept
        life = self._life(raw)
        if life <= 0:
            return False
        size = len(raw) + len(key)
        if self._max_bytes is not None and size > self._max_bytes:
            return False
        old = self._items.get(key)
        if old is not None and old.raw == raw:
            self._keep_decoded(old, tp, entry)  # the same write, read as another type
            return True
        if old is not None:
            self._remove(key, old)
        item = _Item(raw, time.monotonic() + life, entry.tags, size)
        self._keep_decoded(item, tp, entry)
        self._items[key] = item
        self.bytes += size
        for tag in item.tags:
            self._by_tag.setdefault(tag, set()).add(key)
        self.fills += 1
        self._evict()
        return True

    def _life(self, raw: bytes) -> float:
        """Seconds the copy may live here: never past its Redis life (nor freshness)."""
        life = self._ttl
        now = now_ms()
        expires = int.from_bytes(raw[_EXPIRES])
        if expires:
            life = min(life, (expires - now) / 1000)
        fresh = int.from_bytes(raw[_FRESH])
        if fresh:
            life = min(life, (fresh - now) / 1000)
        sliding = int.from_bytes(raw[_SLIDING])
        if sliding:
            life = min(life, sliding * SLIDING_FRACTION / 1000)
        return life

    def _evict(self) -> None:
        items = self._items
        while len(items) > self._max_entries or (
            self._max_bytes is not None and self.bytes > self._max_bytes
        ):
            key, item = items.popitem(last=False)
            self._unindex(key, item)
            self.evictions += 1

    # -- invalidation --------------------------------------------------------------------

    def drop(self, keys: Iterable[str]) -> None:
        """Forget ``keys`` and fence off fills of them already in flight."""
        self._seq += 1
        seq = self._seq
        recent = self._recent
        for key in keys:
            recent[key] = seq
            item = self._items.pop(key, None)
            if item is not None:
                self._unindex(key, item)
                self.invalidated += 1
        if len(recent) > _RECENT_MAX:
            self._fence_all()  # bounded memory: one broad fence instead of many keys

    def drop_tags(self, tags: Iterable[str]) -> None:
        """Forget every entry whose envelope carries one of ``tags``."""
        self._fence_all()
        for tag in tags:
            for key in self._by_tag.pop(tag, ()):
                item = self._items.pop(key, None)
                if item is not None:
                    self._unindex(key, item)
                    self.invalidated += 1

    def drop_matching(self, pattern: re.Pattern[str]) -> None:
        """Forget every entry whose key matches ``pattern`` (a compiled Redis glob)."""
        self._fence_all()
        for key in [key for key in self._items if pattern.match(key)]:
            self._remove(key, self._items[key])
            self.invalidated += 1

    def clear(self) -> None:
        """Forget everything and fence off every fill in flight."""
        self._fence_all()
        self.invalidated += len(self._items)
        self._items.clear()
        self._by_tag.clear()
        self.bytes = 0

    def trust(self) -> None:
        """The channel is listening again: start empty (messages may have been lost)."""
        self.clear()
        self._trusted = True

    def distrust(self) -> None:
        """The channel is down: bypass and empty the tier until it is back."""
        self._trusted = False
        self.clear()

    def _fence_all(self) -> None:
        self._seq += 1
        self._broad = self._seq
        self._recent.clear()

    def _remove(self, key: str, item: _Item) -> None:
        del self._items[key]
        self._unindex(key, item)

    def _unindex(self, key: str, item: _Item) -> None:
        self.bytes -= item.size
        for tag in item.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
