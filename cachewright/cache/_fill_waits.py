"""What a lock waiter needs from the cache: a lease-or-read, and the fill's notice.

Usage (what ``CacheAside(lock=True)`` does on a miss, see ``cache.fills``)::

    hub = await cache.fills.hub()          # None: no notices here (then poll)
    with hub.watch(cache.fills.physical("user:1")) as watch:     # before the read
        mine, found = await cache.fills.lease_or_lookup("user:1", 10, tags=(), type=User)
        if mine is None and isinstance(found, Lease):            # another process fills
            notice = await watch.wait(2.0)
            entry = cache.fills.decode("user:1", notice, User)   # the value, or None

    await cache.set_if_version("user:1", user, lease.version, 300, notify=True)
    await cache.fills.released("user:1")   # after a failed load freed the lease

The filler's compare-and-set publishes its outcome (with the value) on the
namespace's fill channel; each process subscribes to it once, at its first
``lock=True`` miss (:mod:`cachewright.cache.backends.fills`). Without that capability
(a backend of your own) ``hub()`` is None and waiters poll.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from cachewright.cache._expiry import Ttl, now_ms, to_ms
from cachewright.cache._reads import ReadPath
from cachewright.cache._serializer import Lease
from cachewright.cache._writes import WritePath
from cachewright.cache.backends.base import Backend, FillNotices
from cachewright.cache.backends.fills import FillHub, FillNotice
from cachewright.cache.entry import Entry
from cachewright.cache.envelope import LEASE, pack
from cachewright.cache.keys import KeyBuilder

__all__ = ["FillWaits"]


class FillWaits:
    __slots__ = ("_backend", "_keys", "_reads", "_timeout", "_writes", "channel")

    def __init__(
        self,
        keys: KeyBuilder,
        backend: Backend,
        reads: ReadPath,
        writes: WritePath,
        timeout: float,
    ) -> None:
        self._keys = keys
        self._backend = backend
        self._reads = reads
        self._writes = writes
        self._timeout = timeout  # for the one subscription (connect + confirm)
        self.channel = keys.internal("fill")

    def physical(self, key: str) -> str:
        """The key a hub's watch is for."""
        return self._keys.entry(key)

    async def hub(self) -> FillHub | None:
        """This process's waiters, once the fill channel is subscribed; None when the
        backend has no notices or the subscription is not up."""
        backend = self._backend
        if not isinstance(backend, FillNotices):
            return None
        return await backend.fill_hub(self.channel, self._timeout)

    async def lease_or_lookup(
        self, key: str, ttl: Ttl, *, tags: Iterable[str] | str | None, type: Any
    ) -> tuple[Lease | None, Entry[Any] | Lease | None]:
        """(our lease, None) if the key was absent; else (None, what it holds: an
        entry, another filler's lease, or None for unreadable bytes)."""
        backend = self._backend
        assert isinstance(backend, FillNotices)
        physical = self._keys.entry(key)
        ttl_ms = to_ms(ttl if ttl is not None else 30)
        now = now_ms()
        data = pack(
            secrets.token_bytes(12), flags=LEASE, written_at_ms=now, expires_at_ms=now + ttl_ms
        )
        raw: bytes | None = await self._writes.guarded(
            b"",
            backend.lease_or_get,
            physical,
            data,
            ttl_ms,
            self._keys.tags(tags),
            fence=False,
            at=physical,
        )
        if raw is None:
            return Lease(data, now + ttl_ms), None
        if not raw:
            return None, None
        return None, self._reads.classify(physical, raw, type, now_ms())

    def decode(self, key: str, notice: FillNotice, type: Any) -> Entry[Any] | None:
        """The entry a notice carries (None: read the key)."""
        if notice.value is None:
            return None
        found = self._reads.classify(self._keys.entry(key), notice.value, type, now_ms())
        return found if isinstance(found, Entry) else None

    async def released(self, key: str) -> None:
        """Tell the key's waiters its lease is gone (a failed load freed it)."""
        backend = self._backend
        if isinstance(backend, FillNotices):
            physical = self._keys.entry(key)
            await self._writes.guarded(
                None, backend.notify_released, physical, self.channel, fence=False, at=physical
            )
