"""The backend seam: what a storage engine must do for the cache layer.

A backend stores opaque bytes under physical keys (already namespaced by the
cache layer) and keeps tag indexes. It knows nothing of types, codecs or envelopes,
except that ``compare_and_set`` and ``touch_if`` compare a stored value's leading
bytes with a given prefix.

Usage (what :class:`~cachewright.cache.Cache` does)::

    await backend.set("shop:user:1", payload, ttl_ms=300_000, tags=["shop~tag:users"])
    raw = await backend.get("shop:user:1")            # bytes | None
    removed = await backend.invalidate_tags(["shop~tag:users"])

Errors: a backend raises :class:`~cachewright.errors.CacheUnavailable` when its
server cannot be reached in time and :class:`~cachewright.errors.CacheError` for any
other server failure. Nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from cachewright._redis.ahead import Ahead
    from cachewright._redis.lane import Lane
    from cachewright.cache.backends.fills import FillHub

__all__ = [
    "Backend",
    "FillNotices",
    "ReplicaReads",
    "SetItem",
    "SharesClient",
    "SharesLane",
    "Topology",
]

#: one write of a batch: (physical key, value bytes, ttl in ms or None for no expiry)
SetItem = tuple[str, bytes, int | None]


@runtime_checkable
class Backend(Protocol):
    """Byte-level storage with TTLs, tag indexes and counters."""

    async def get(self, key: str) -> bytes | None:
        """The stored bytes, or None for a miss."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values in the order of ``keys``; one round trip per node."""

    async def set(
        self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
    ) -> None:
        """Store ``value``; index it under each tag key until it expires."""

    async def set_many(self, items: Sequence[SetItem], tags: Sequence[str] = ()) -> None:
        """Store every item; index each under every tag key; one round trip per node."""

    async def add(
        self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
    ) -> bool:
        """Store only if ``key`` is absent; True if stored."""

    async def compare_and_set(
        self,
        key: str,
        expected_prefix: bytes,
        value: bytes,
        ttl_ms: int | None,
        tags: Sequence[str] = (),
    ) -> bool:
        """Atomically replace the value only if it still starts with ``expected_prefix``."""

    async def touch_if(
        self, key: str, expected_prefix: bytes, ttl_ms: int, tags: Sequence[str] = ()
    ) -> bool:
        """Atomically set the TTL only if the value still starts with ``expected_prefix``;
        push the entry's deadline in each tag index forward with it."""

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Remove every key; the number that existed."""

    async def delete_pattern(self, pattern: str) -> int:
        """Remove keys matching a glob (already escaped); incremental, never KEYS."""

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        """Remove every live entry indexed under the tag keys, and the indexes."""

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value."""

    async def pttl(self, key: str) -> int | None:
        """Remaining life in ms; -1 for no expiry; None if the key is missing."""

    async def expire(self, key: str, ttl_ms: int | None, tags: Sequence[str] = ()) -> bool:
        """Set (or with None, remove) the expiry of ``key``; True if the key exists.
        The entry's deadline in each tag index moves with it."""

    async def incr(self, key: str, amount: int | float) -> int | float:
        """Add ``amount`` to the counter at ``key`` (created at 0) and return it."""

    async def info(self) -> Mapping[str, object]:
        """Server facts for stats, database-wide (every namespace): ``database_keys``,
        memory, keyspace hit ratio."""

    async def ping(self) -> None:
        """Raise CacheUnavailable unless the server answers."""

    async def close(self) -> None:
        """Release connections. Idempotent."""


@runtime_checkable
class SharesClient(Protocol):
    """A backend that lets other components share its Redis client (an optional capability).

    The durable write queue lives on the cache's own connection through it
    (``cache.shared_client``); the backend keeps ownership and closes the client.
    ``MemoryBackend`` does not offer one.
    """

    def shared_client(self) -> Redis | RedisCluster:
        """The client to share; it stays open until the backend closes."""
        ...


@runtime_checkable
class SharesLane(Protocol):
    """A backend whose lane to one Redis server others may send through (optional).

    The durable write queue on the cache's client sends its puts there: concurrent
    puts and cache commands leave together, and the backend closes the lane.
    """

    def shared_lane(self) -> Lane | None:
        """The lane (None on Cluster, which has none); open until the backend closes."""
        ...


@runtime_checkable
class DropsAfter(Protocol):
    """A backend that can drop entries right behind another command on its lane
    (optional; the durable write queue's put on the cache's lane)."""

    async def delete_after(self, keys: Sequence[str], ahead: Ahead) -> int | None:
        """Send ``ahead.command``, then UNLINK ``keys``, in one request on its lane, and
        settle ``ahead``; the number removed. None, with nothing sent and ``ahead``
        left unsettled, when ``ahead`` is for another lane or ``keys`` are too many."""
        ...


@runtime_checkable
class Topology(Protocol):
    """A backend spread over server nodes (an optional capability).

    The cache keeps a circuit breaker per node, so one dead node does not darken
    the keys the others serve, and asks the backend to look its topology up again
    while a node's breaker is open (after a failover, keys move to a promoted node).
    A backend without it is one node.
    """

    @property
    def sharded(self) -> bool:
        """Whether keys live on different nodes at once (Cluster). False: one node
        serves every key at a time (standalone, Sentinel), so the cache groups a batch
        with one :meth:`node_of` instead of one per key."""
        ...

    def node_of(self, key: str) -> str:
        """A name of the node serving ``key`` now (no I/O): the same name for the
        same node, a new name once another node serves the key."""
        ...

    def primaries(self) -> frozenset[str]:
        """The names of the nodes serving keys now, as last learnt (no I/O)."""
        ...

    async def refresh_topology(self) -> None:
        """Learn which nodes serve which keys again (raise CacheUnavailable if no
        server answers)."""
        ...


@runtime_checkable
class ReplicaReads(Protocol):
    """A backend that can read from replicas (an optional capability).

    With it, the cache sends ``get``, ``get_many``, ``exists`` and ``ttl`` to the
    reader; writes, tag invalidation, the touch of a sliding entry and, with a local
    tier, every read (a refill must not copy a stale replica) stay on the primary.
    """

    def replica_reader(self) -> Backend | None:
        """The backend reading from replicas, or None when not configured."""
        ...


@runtime_checkable
class FillNotices(Protocol):
    """A backend that wakes lock waiters by the fill instead of their polling (an
    optional capability; see :mod:`cachewright.cache.backends.fills`).

    Redis publishes from the fill's script to a subscription each process opens once;
    ``MemoryBackend`` delivers in process. Without it, waiters poll.
    """

    async def lease_or_get(
        self, key: str, lease: bytes, ttl_ms: int, tags: Sequence[str] = ()
    ) -> bytes | None:
        """Store ``lease`` if ``key`` is absent (None), else return what it holds
        (``b""``: it vanished meanwhile, read again)."""
        ...

    async def fill_notify(
        self,
        key: str,
        expected_prefix: bytes,
        value: bytes,
        ttl_ms: int | None,
        tags: Sequence[str],
        channel: str,
    ) -> bool:
        """``compare_and_set``, then tell the key's waiters on ``channel`` the outcome."""
        ...

    async def notify_released(self, key: str, channel: str) -> None:
        """Tell the key's waiters on ``channel`` its lease is gone."""
        ...

    async def fill_hub(self, channel: str, seconds: float) -> FillHub | None:
        """This process's waiters on ``channel`` once notices arrive (None: not now)."""
        ...
