"""The Cache: typed reads and writes, many-ops, tags, counters and stats over a backend.

Usage::

    cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace="shop")  # or "memory://"
    async with cache:
        await cache.set("user:1", user, ttl=300, tags=["users"])
        user = await cache.get("user:1", User)          # User | None (None: a miss)
        entry = await cache.get_entry("user:1", User)   # Entry[User] | None
        await cache.invalidate_tags("users")

Reads fail open: an unreachable server reads as a miss, counted. Writes raise
:class:`~cachewright.errors.CacheUnavailable` unless ``fail_open_writes`` is set.
A circuit breaker stops calls to a dead server and probes it back (G6).

Two levels: ``Cache.from_url(url, local=LocalTier(max_entries=10_000, ttl=5.0))``
keeps hot entries in process memory and keeps them coherent across processes over
Redis pub/sub (see :mod:`cachewright.cache.local` and ``docs/local-tier.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from cachewright._metrics import Metrics
from cachewright.cache import _status
from cachewright.cache._expiry import Ttl
from cachewright.cache._fences import WriteWatcher
from cachewright.cache._fill_waits import FillWaits
from cachewright.cache._recovery import RecoveryStats
from cachewright.cache._serializer import Lease
from cachewright.cache._setup import backend_for, build_parts
from cachewright.cache._stats import CacheStats
from cachewright.cache._writes import DEFAULT
from cachewright.cache.backends.base import Backend, SharesClient
from cachewright.cache.codecs import Codec
from cachewright.cache.entry import Entry
from cachewright.cache.health import Health
from cachewright.cache.keys import KeyBuilder
from cachewright.cache.local import Channel, LocalTier
from cachewright.events import Events
from cachewright.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

__all__ = ["Cache"]

T = TypeVar("T")


class Cache:
    """A namespaced cache over a :class:`~cachewright.cache.backends.base.Backend`.

    ``local=LocalTier(...)`` puts an in-process tier in front of the backend; its
    invalidation channel is built from ``url`` (Redis pub/sub) or given as ``channel``.
    Without ``local``, the settings' ``local_max_entries`` (when set) enables it.
    """

    # The parts each call reads are slots of their own (one attribute lookup on the
    # read path); the rest stay in ``_parts`` (built by ``build_parts`` in _setup.py).
    __slots__ = ("_closed", "_guard", "_keys", "_parts", "_read_from", "_reads", "_writes")

    def __init__(
        self,
        backend: Backend,
        *,
        namespace: str | None = None,
        settings: Settings | None = None,
        codec: Codec | None = None,
        url: str = "",
        local: LocalTier | None = None,
        channel: Channel | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        parts = build_parts(
            backend,
            namespace=namespace,
            settings=settings,
            codec=codec,
            url=url,
            local=local,
            channel=channel,
            metrics=metrics,
            replay_pattern=self.delete_pattern,
        )
        self._parts = parts
        self._closed = False
        self._keys = parts.keys
        self._guard = parts.guard
        self._read_from = parts.read_from
        self._reads = parts.reads
        self._writes = parts.writes

    # -- construction and lifecycle ---------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str = "memory://",
        *,
        namespace: str | None = None,
        settings: Settings | None = None,
        codec: Codec | None = None,
        local: LocalTier | None = None,
        metrics: Metrics | None = None,
    ) -> Cache:
        """A cache on ``memory://``, ``redis://``, ``rediss://``, ``redis+sentinel://``
        or ``redis+cluster://`` (user and password in the URL for ACL and TLS);
        ``local=LocalTier(...)`` adds the in-process tier in front of it;
        ``metrics=otel_metrics()`` records OpenTelemetry instruments."""
        settings = settings or Settings()
        backend = backend_for(url, settings)
        return cls(
            backend,
            namespace=namespace,
            settings=settings,
            codec=codec,
            url=url,
            local=local,
            metrics=metrics,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Cache:
        """A cache configured from ``CACHEWRIGHT_*`` variables (default: ``memory://``)."""
        settings = settings or Settings()
        return cls.from_url(settings.url, settings=settings)

    async def __aenter__(self) -> Self:
        coherence = self._parts.coherence
        if coherence is not None:
            # Subscribe now so the first reads can use the tier; if Redis is not there
            # yet, carry on: reads bypass the tier until the channel comes up.
            await coherence.start(wait=self._parts.settings.connect_timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the backend's connections (and the invalidation channel). Idempotent."""
        if not self._closed:
            self._closed = True
            parts = self._parts
            await parts.recovery.close()
            await parts.guard.breakers.close()
            if parts.coherence is not None:
                await parts.coherence.close()
            await parts.backend.close()

    def __repr__(self) -> str:
        return f"Cache({self._parts.url!r}, namespace={self.namespace!r})"

    @property
    def metrics(self) -> Metrics:
        """The instruments this cache records to (patterns record to them too)."""
        return self._parts.metrics

    @property
    def recovery(self) -> RecoveryStats:
        """Writes lost while the server was unreachable, and their replay (``pending``
        ones are replayed when it answers again; see docs/guarantees.md)."""
        return self._parts.recovery.stats()

    @property
    def events(self) -> Events:
        """Subscribe to what this cache's patterns do (see ``cachewright.events``)."""
        return self._parts.events

    @property
    def namespace(self) -> str:
        return self._keys.namespace

    @property
    def backend(self) -> Backend:
        return self._parts.backend

    @property
    def shared_client(self) -> Redis | RedisCluster | None:
        """The backend's Redis client when it offers one to share (``SharesClient``), else None.

        The write-behind pattern builds its durable queue on it; the cache closes it.
        """
        backend = self._parts.backend
        return backend.shared_client() if isinstance(backend, SharesClient) else None

    @property
    def keys(self) -> KeyBuilder:
        """The key builder: physical names of entries, tags and internal keys."""
        return self._keys

    @property
    def settings(self) -> Settings:
        return self._parts.settings

    @property
    def local(self) -> bool:
        """Whether this cache has a local tier in front of its backend."""
        return self._parts.local is not None

    # -- reads -------------------------------------------------------------------------

    @overload
    async def get(self, key: str) -> Any: ...
    @overload
    async def get(self, key: str, type: type[T]) -> T | None: ...
    @overload
    async def get(self, key: str, type: Any) -> Any: ...
    async def get(self, key: str, type: Any = None) -> Any:
        """The fresh value at ``key`` validated as ``type``, or None for a miss.

        A cached None also reads as None: use :meth:`get_entry` to tell them apart.
        """
        found = await self._reads.lookup(key, type)
        if isinstance(found, Entry) and not found.stale:
            return found.value
        return None

    @overload
    async def get_entry(self, key: str) -> Entry[Any] | None: ...
    @overload
    async def get_entry(self, key: str, type: type[T]) -> Entry[T] | None: ...
    @overload
    async def get_entry(self, key: str, type: Any) -> Entry[Any] | None: ...
    async def get_entry(self, key: str, type: Any = None) -> Entry[Any] | None:
        """The entry at ``key`` with its metadata (stale ones included), or None (G1)."""
        found = await self._reads.lookup(key, type)
        return found if isinstance(found, Entry) else None

    @overload
    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]: ...
    @overload
    async def get_many(self, keys: Iterable[str], type: type[T]) -> dict[str, T]: ...
    @overload
    async def get_many(self, keys: Iterable[str], type: Any) -> dict[str, Any]: ...
    async def get_many(self, keys: Iterable[str], type: Any = None) -> dict[str, Any]:
        """The fresh hits among ``keys`` (misses are absent); one round trip per node (G2)."""
        return await self._reads.values(keys, type)

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds an entry (fails open to False)."""
        physical = self._keys.entry(key)
        return await self._guard.read(False, self._read_from.exists, physical, at=physical)

    async def ttl(self, key: str) -> float | None:
        """Seconds left; ``math.inf`` for no expiry; None for a missing key."""
        physical = self._keys.entry(key)
        left = await self._guard.read(None, self._read_from.pttl, physical, at=physical)
        if left is None:
            return None
        return math.inf if left < 0 else left / 1000

    # -- writes ------------------------------------------------------------------------

    async def set(
        self,
        key: str,
        value: object,
        ttl: Ttl = DEFAULT,
        *,
        sliding: float | timedelta | None = None,
        expires_at: datetime | None = None,
        stale_ttl: float | timedelta | None = None,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
    ) -> None:
        """Store ``value`` (encoded as ``type`` when given).

        ``ttl`` in seconds or a timedelta (default: settings.default_ttl; None: no
        expiry); ``sliding`` extends the life on each read, capped by ``ttl`` or
        ``expires_at`` (G4); ``stale_ttl`` keeps the entry that much longer, read as
        stale; ``tags`` index it for :meth:`invalidate_tags`.
        """
        return await self._writes.set(
            key,
            value,
            ttl,
            sliding=sliding,
            expires_at=expires_at,
            stale_ttl=stale_ttl,
            tags=tags,
            type=type,
        )

    async def set_many(
        self,
        items: Mapping[str, object],
        ttl: Ttl = DEFAULT,
        *,
        sliding: float | timedelta | None = None,
        expires_at: datetime | None = None,
        tags: Iterable[str] | str | None = None,
        type: Any = None,
    ) -> None:
        """Store every item with one expiry and tag set; one round trip per node (G2).

        ``ttl``, ``sliding`` and ``expires_at`` mean what they mean for :meth:`set`.
        """
        return await self._writes.set_many(
            items, ttl, sliding=sliding, expires_at=expires_at, tags=tags, type=type
        )

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        return await self._writes.delete(key)

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove every key; the number that existed. One round trip per node."""
        return await self._writes.delete_many(keys)

    async def delete_pattern(self, glob: str) -> int:
        """Remove this namespace's keys matching the Redis glob ``glob``; the number removed.

        Usage::

            await cache.delete_pattern("temp:user:*")                    # a glob as written
            await cache.delete_pattern(f"temp:{escape_glob(name)}:*")   # user text inside it
            await cache.delete_prefix(f"temp:{name}:")                  # the same, simpler

        ``*``, ``?``, ``[...]`` and ``\\`` have their Redis meaning; text from users goes
        through :func:`cachewright.escape_glob` (or :meth:`delete_prefix`) so that it
        matches only itself. Only this namespace's entries are ever matched.
        Incremental (SCAN + UNLINK), never KEYS.
        """
        return await self._writes.delete_matching(self._keys.pattern(glob))

    async def delete_prefix(self, prefix: str) -> int:
        """Remove this namespace's keys starting with ``prefix``, taken literally (any
        ``*``, ``?`` or ``[`` in it matches only itself); the number removed.

        An empty prefix is refused (``InvalidKey``): to empty the namespace, ``clear()``.
        """
        return await self._writes.delete_matching(self._keys.prefix_pattern(prefix))

    async def clear(self) -> int:
        """Remove every entry of this namespace and its bookkeeping (tag indexes);
        the number of entries removed."""
        return await self._writes.clear()

    async def invalidate_tags(self, tags: Iterable[str] | str) -> int:
        """Remove every entry carrying any of ``tags``; the number removed (G3)."""
        return await self._writes.invalidate_tags(tags)

    async def touch(self, key: str, ttl: Ttl) -> bool:
        """Give ``key`` a new life of ``ttl`` (None: no expiry); False if it is missing."""
        return await self._writes.touch(key, ttl)

    @overload
    async def incr(self, key: str, amount: int = 1) -> int: ...
    @overload
    async def incr(self, key: str, amount: float) -> float: ...
    async def incr(self, key: str, amount: int | float = 1) -> int | float:
        """Add ``amount`` to the counter at ``key`` (created at 0); the new value."""
        return await self._writes.incr(key, amount)

    # -- the extension interface for patterns ------------------------------------------
    #
    # What CacheAside, WriteThrough and WriteBehind build on (and any pattern of your
    # own may): a read that tells a lease from a miss, a batch read of entries, and the
    # lease-then-compare-and-set pair that makes a fill lose to any newer write (G10).
    # ``keys``, ``metrics`` and ``shared_client`` above complete it.

    async def lookup(self, key: str, type: Any = None) -> Entry[Any] | Lease | None:
        """Like :meth:`get_entry`, but a lease placeholder comes back as a :class:`Lease`.

        Patterns use it to tell "someone is filling this key" from "nobody has it".
        With a local tier, a local hit answers first; leases are never kept locally.
        """
        return await self._reads.lookup(key, type)

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

    # -- health and stats --------------------------------------------------------------

    async def ping(self, *, timeout: float | None = None) -> Health:  # noqa: ASYNC109
        """Ask the server if it is there: reachability, round-trip time, breaker state,
        server version and, with a local tier, the channel state (see :class:`Health`).

        Never raises for an unreachable server (``reachable`` is False). Goes past the
        circuit breaker without changing it. ``timeout`` bounds the whole probe
        (default: ``connect_timeout + read_timeout``).
        """
        return await _status.ping(self._parts, timeout)

    async def stats(self, *, server: bool = True) -> CacheStats:
        """This namespace's counters in this process and, with ``server``, the whole
        database's facts (one round trip); see ``CacheStats`` for the two scopes."""
        return await _status.stats(self._parts, server)
