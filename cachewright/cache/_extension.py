"""The extension interface for patterns: the Cache members patterns build on.

Usage (what CacheAside does on a miss)::

    found = await cache.lookup(key, User)       # an Entry, a Lease (being filled) or None
    lease = await cache.try_lease(key, ttl=5)   # None: someone else holds the key
    if lease is not None:
        stored = await cache.set_if_version(key, user, lease.version, ttl=600)

What CacheAside, WriteThrough and WriteBehind build on (and any pattern of your own
may): a read that tells a lease from a miss, a batch read of entries, the
lease-then-compare-and-set pair that makes a fill lose to any newer write (G10), a
watch on this cache object's writes, the key builder, the instruments and the shared
Redis client. :class:`~cachewright.cache.Cache` inherits them from
:class:`PatternInterface`; the everyday API is in ``_cache.py``.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cachewright._metrics import Metrics
from cachewright._redis.ahead import Ahead
from cachewright.cache._expiry import Ttl
from cachewright.cache._fences import WriteWatcher
from cachewright.cache._fill_waits import FillWaits
from cachewright.cache._reads import ReadPath
from cachewright.cache._serializer import Lease
from cachewright.cache._setup import Parts
from cachewright.cache._writes import DEFAULT, WritePath
from cachewright.cache.backends.base import SharesClient
from cachewright.cache.entry import Entry
from cachewright.cache.keys import KeyBuilder

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ["PatternInterface"]


class PatternInterface:
    """The members of a Cache that patterns use (see the module docstring)."""

    __slots__ = ()
    # Slots of the Cache (set in Cache.__init__).
    _parts: Parts
    _keys: KeyBuilder
    _reads: ReadPath
    _writes: WritePath

    @property
    def keys(self) -> KeyBuilder:
        """The key builder: physical names of entries, tags and internal keys."""
        return self._keys

    @property
    def metrics(self) -> Metrics:
        """The instruments this cache records to (patterns record to them too)."""
        return self._parts.metrics

    @property
    def shared_client(self) -> Redis | RedisCluster | None:
        """The backend's Redis client when it offers one to share (``SharesClient``), else None.

        The write-behind pattern builds its durable queue on it; the cache closes it.
        """
        backend = self._parts.backend
        return backend.shared_client() if isinstance(backend, SharesClient) else None

    async def delete_after(self, keys: Iterable[str], ahead: Ahead) -> int | None:
        """Drop ``keys`` right behind ``ahead.command`` in one request on the backend's
        lane, so Redis runs the command first (the write-behind queue's put, then the
        drop of the entries it replaces: one round trip). The number removed; None when
        nothing was dropped: the backend has no lane or not ``ahead.lane`` (``ahead``
        is then left unsent), or the cache was unavailable (fail-open)."""
        return await self._writes.delete_after(keys, ahead)

    def lookup(self, key: str, type: Any = None) -> Coroutine[Any, Any, Entry[Any] | Lease | None]:
        """Like :meth:`get_entry`, but a lease placeholder comes back as a :class:`Lease`.

        Patterns use it to tell "someone is filling this key" from "nobody has it".
        With a local tier, a local hit answers first; leases are never kept locally.
        Awaited like the other reads; it hands back the read path's own coroutine,
        without a frame of its own around it (a ``CacheAside`` hit runs through it).
        """
        return self._reads.lookup(key, type)

    async def get_many_entries(
        self, keys: Iterable[str], type: Any = None
    ) -> dict[str, Entry[Any]]:
        """Entries (stale ones included) for the hits among ``keys``."""
        return await self._reads.many(keys, type)

    async def try_lease(
        self, key: str, ttl: Ttl, *, tags: Iterable[str] | str | None = None
    ) -> Lease | None:
        """Put a lease placeholder on a missing key; None if the key holds anything.

        A later :meth:`set_if_version` with the lease's version succeeds only if no
        write, delete or tag invalidation touched the key meanwhile.
        """
        return await self._writes.try_lease(key, ttl, tags=tags)

    async def set_if_version(
        self,
        key: str,
        value: object,
        version: bytes,
        ttl: Ttl = DEFAULT,
        *,
        sliding: float | timedelta | None = None,
        expires_at: datetime | None = None,
        stale_ttl: float | timedelta | None = None,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
        notify: bool = False,
    ) -> bool:
        """Store ``value`` only if the entry is still the one ``version`` names (expiry
        options as for :meth:`set`); ``notify``: wake the processes waiting on the
        key's lease with the outcome (see :attr:`fills`)."""
        return await self._writes.set_if_version(
            key,
            value,
            version,
            ttl,
            sliding=sliding,
            expires_at=expires_at,
            stale_ttl=stale_ttl,
            tags=tags,
            type=type,
            notify=self._parts.fills.channel if notify else None,
        )

    @property
    def fills(self) -> FillWaits:
        """Lock waits woken by the fill: lease-or-read, and the filler's notice."""
        return self._parts.fills

    def watch_writes(self, watcher: WriteWatcher) -> None:
        """Call ``watcher.written(keys)`` after every write through this cache object.

        Deletes and invalidations count as writes (``keys`` is None when a tag, a glob
        or a clear may have touched any key); leases, fills and ``touch`` do not. The
        call comes right after the backend answered, or failed, before the writer's
        await returns. CacheAside uses it for read-your-writes: a read that starts
        after a write returned never joins a load that began before it. Watchers are
        held weakly.
        """
        self._writes.fences.watch(watcher)
