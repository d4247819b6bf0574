"""The Redis backend: standalone, Sentinel or Cluster (Valkey works the same).

Usage::

    backend = RedisBackend.from_url("redis://app:secret@127.0.0.1:6379/0")
    backend = RedisBackend.from_url("redis+cluster://10.0.0.1:7000", settings=settings)
    backend = RedisBackend.from_url("redis+sentinel://10.0.0.9:26379/mymaster/0")
    backend = RedisBackend(redis.asyncio.Redis(...))      # your client; you close it
    await backend.set("shop:user:1", payload, ttl_ms=60_000, tags=["shop~tag:users"])
    await backend.close()

Single-key operations are one plain command (GET, SET, UNLINK, ...). On one node
they go through a lane (:mod:`cachewright._redis.lane`): alone, on a kept connection;
issued together, as one MGET and one pipeline. Batches and tag bookkeeping go to a
topology strategy: :mod:`._redis_standalone` (one server, one command per batch)
or :mod:`._redis_cluster` (one round trip per node, sent concurrently). Every
redis-py error leaves as :class:`~cachewright.errors.CacheError` or
:class:`~cachewright.errors.CacheUnavailable`, redacted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from cachewright._redis.ahead import Ahead
from cachewright._redis.capabilities import CACHE_COMMANDS, require
from cachewright._redis.errors import ErrorMap
from cachewright._redis.lane import Lane
from cachewright._redis.sync_conn import sync_connection
from cachewright._redis.url import Mode, Opened, close_client, open_client, parse_url
from cachewright.cache.backends import _redis_topology as topology
from cachewright.cache.backends._redis_cluster import Cluster
from cachewright.cache.backends._redis_describe import describe, flag, summarize
from cachewright.cache.backends._redis_fill_ops import FillOps
from cachewright.cache.backends._redis_fills import FillListener
from cachewright.cache.backends._redis_standalone import LANE_KEYS, Standalone
from cachewright.cache.backends.base import SetItem
from cachewright.cache.config import CacheSettings, default_settings
from cachewright.errors import ConfigurationError

__all__ = ["RedisBackend"]


class RedisBackend(FillOps):
    """A :class:`~cachewright.cache.backends.base.Backend` on Redis.

    ``RedisBackend(client)`` wraps a ready ``redis.asyncio.Redis`` or ``RedisCluster``
    (created with ``decode_responses=False``); it closes that client only with
    ``close_client=True``. :meth:`from_url` builds and owns its client.
    """

    __slots__ = (
        "_client",
        "_close_client",
        "_closed",
        "_errors",
        "_fills",
        "_label",
        "_lane",
        "_mode",
        "_opened",
        "_ops",
        "_read_from",
    )

    def __init__(self, client: Redis | RedisCluster, *, close_client: bool = False) -> None:
        if isinstance(client, RedisCluster):
            kwargs: Mapping[str, Any] = client.get_connection_kwargs()
        elif isinstance(client, Redis):
            kwargs = client.connection_pool.connection_kwargs
        else:
            raise ConfigurationError("RedisBackend needs a redis.asyncio Redis or RedisCluster")
        if kwargs.get("decode_responses"):
            raise ConfigurationError("RedisBackend needs a client with decode_responses=False")
        self._client = client
        self._close_client = close_client
        self._closed = False
        self._opened: Opened | None = None
        self._fills: dict[str, FillListener] = {}  # fill notices, by channel
        self._nx_get = True  # SET NX GET (Redis 7.0+); False once the server refused it
        self._read_from: RedisBackend | None = None  # reads from replicas (from_url)
        self._mode, self._label = describe(client, kwargs)
        self._errors = ErrorMap(kwargs.get("password"), where=self._label)
        # Commands on one node go through a lane: a kept connection when alone, one
        # MGET / one pipeline for what arrives together. A Cluster client keeps
        # redis-py's own routing.
        self._lane: Lane | None = None
        self._ops: Standalone | Cluster
        if isinstance(client, RedisCluster):
            self._ops = Cluster(client)
        else:
            self._lane = Lane(client)
            self._ops = Standalone(client, self._lane)

    @classmethod
    def from_url(
        cls, url: str, *, settings: CacheSettings | None = None, **overrides: Any
    ) -> RedisBackend:
        """Build the client a URL names; ``cluster=True`` reads ``redis://`` as a cluster.

        ``overrides`` are redis-py client options (``ssl_ca_certs=...``,
        ``health_check_interval=...``); they win over the URL's query and ``settings``.
        Nothing connects until the first command.
        """
        cluster = bool(overrides.pop("cluster", False))
        target = parse_url(url, cluster=cluster)
        settings = settings or default_settings()
        options = dict(target.options)
        replicas = flag(options.pop("read_from_replicas", settings.read_from_replicas))
        target = dataclasses.replace(target, options=options)
        if replicas and target.mode == "standalone":
            raise ConfigurationError(
                f"read_from_replicas needs a redis+cluster:// or redis+sentinel:// URL,"
                f" not {target.redacted}"
            )
        try:
            opened = open_client(target, settings, overrides)
            reading = open_client(target, settings, overrides, replicas=True) if replicas else None
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid Redis options for {target.redacted}") from exc
        backend = cls(opened.client, close_client=True)
        backend._opened = opened
        backend._label = target.redacted
        backend._mode = target.mode
        backend._errors = ErrorMap(
            target.password,
            overrides.get("password"),
            cast("str | None", target.options.get("sentinel_password")),
            where=target.redacted,
        )
        if reading is not None:
            reader = backend._read_from = cls(reading.client, close_client=True)
            reader._opened, reader._label, reader._mode = reading, target.redacted, target.mode
            reader._errors = backend._errors
        return backend

    def replica_reader(self) -> RedisBackend | None:
        """With ``read_from_replicas``: a backend on the same URL whose reads go to
        replicas (stale by the replication lag; closed with this one), else None."""
        return self._read_from

    def __repr__(self) -> str:
        return f"RedisBackend({self._label!r}, mode={self._mode!r})"

    def sync_connection(
        self, timeout: float
    ) -> redis.Connection | redis.UnixDomainSocketConnection | None:
        """A new sync redis-py connection to this standalone server, with this client's
        options and ``timeout`` as its socket timeout (see :mod:`cachewright._redis.
        sync_conn`); None on Sentinel, Cluster, with replica reads, or for a client
        whose pool cannot be copied. Its errors map through :attr:`errors`."""
        if self._mode != "standalone" or self._read_from is not None:
            return None
        return sync_connection(self._client, timeout=timeout)

    @property
    def errors(self) -> ErrorMap:
        """redis-py errors in, cachewright errors out, redacted (a ``with`` block)."""
        return self._errors

    @property
    def mode(self) -> Mode:
        """``standalone``, ``sentinel`` or ``cluster``."""
        return self._mode

    @property
    def client(self) -> Redis | RedisCluster:
        """The redis-py client, for commands the backend does not offer."""
        return self._client

    def shared_client(self) -> Redis | RedisCluster:
        """The client other components may share (``SharesClient``); closed with the backend."""
        return self._client

    def shared_lane(self) -> Lane | None:
        """The lane other components may send through (``SharesLane``); closed with the
        backend. None on Cluster."""
        return self._lane

    # -- reads -----------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """One GET; reads issued while another is in flight leave together as one MGET."""
        try:  # the errors' mapping without entering a ``with``: this runs for every get
            if self._lane is not None:
                return cast("bytes | None", await self._lane.get(key))
            return cast("bytes | None", await self._client.get(key))
        except Exception as exc:
            self._errors.reraise(exc)
            raise

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        with self._errors:
            return await self._ops.get_many(keys)

    async def exists(self, key: str) -> bool:
        with self._errors:
            if self._lane is not None:
                return bool(await self._lane.command("EXISTS", key))
            return bool(await self._client.exists(key))

    async def pttl(self, key: str) -> int | None:
        with self._errors:
            if self._lane is not None:
                remaining = int(await self._lane.command("PTTL", key))
            else:
                remaining = int(await self._client.pttl(key))
        return None if remaining == -2 else remaining

    # -- writes ----------------------------------------------------------------------

    async def set(
        self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
    ) -> None:
        with self._errors:
            if tags:
                if ttl_ms is None:
                    await self._ops.write("set", [(key, value, ttl_ms)], tags)
                else:
                    await self._ops.set_tagged(key, value, ttl_ms, tags)
            elif self._lane is None:
                await self._client.set(key, value, px=ttl_ms)
            elif ttl_ms is None:
                await self._lane.command("SET", key, value)
            else:
                await self._lane.command("SET", key, value, "PX", ttl_ms)

    async def set_many(self, items: Sequence[SetItem], tags: Sequence[str] = ()) -> None:
        if not items:
            return
        with self._errors:
            await self._ops.write("set", items, tags)

    async def add(
        self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
    ) -> bool:
        with self._errors:
            if tags:
                return await self._ops.write("nx", [(key, value, ttl_ms)], tags) == 1
            return bool(await self._client.set(key, value, px=ttl_ms, nx=True))

    async def compare_and_set(
        self,
        key: str,
        expected_prefix: bytes,
        value: bytes,
        ttl_ms: int | None,
        tags: Sequence[str] = (),
    ) -> bool:
        with self._errors:
            written = await self._ops.write("cas", [(key, value, ttl_ms)], tags, expected_prefix)
        return written == 1

    async def touch_if(
        self, key: str, expected_prefix: bytes, ttl_ms: int, tags: Sequence[str] = ()
    ) -> bool:
        """Re-time ``key`` if its value starts with ``expected_prefix``.

        Pass the entry's ``tags`` so their indexes keep the member (and themselves)
        alive as long as the entry: a sliding entry outlives the deadline it was
        indexed with.
        """
        with self._errors:
            written = await self._ops.write("touch", [(key, b"", ttl_ms)], tags, expected_prefix)
        return written == 1

    async def expire(self, key: str, ttl_ms: int | None, tags: Sequence[str] = ()) -> bool:
        """Set (None: remove) the expiry of ``key``; with ``tags``, as :meth:`touch_if`."""
        with self._errors:
            if tags:
                return await self._ops.write("touch", [(key, b"", ttl_ms)], tags) == 1
            if ttl_ms is not None:
                return bool(await self._client.pexpire(key, ttl_ms))
            # PERSIST answers 0 both for a missing key and for one without expiry.
            return bool(await self._client.persist(key)) or bool(await self._client.exists(key))

    async def incr(self, key: str, amount: int | float) -> int | float:
        with self._errors:
            if self._lane is not None:
                if isinstance(amount, int):
                    return int(await self._lane.command("INCRBY", key, amount))
                return float(await self._lane.command("INCRBYFLOAT", key, repr(amount)))
            if isinstance(amount, int):
                return int(await self._client.incrby(key, amount))
            return float(await self._client.incrbyfloat(key, amount))

    # -- deletes ---------------------------------------------------------------------

    async def delete(self, key: str) -> bool:
        with self._errors:
            if self._lane is not None:
                return bool(await self._lane.command("UNLINK", key))
            return bool(await self._client.unlink(key))

    async def delete_many(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        with self._errors:
            return await self._ops.delete_many(keys)

    async def delete_after(self, keys: Sequence[str], ahead: Ahead) -> int | None:
        """``ahead.command`` then UNLINK ``keys`` in one request on the lane (see
        ``DropsAfter``): Redis runs the command before the drop."""
        lane = self._lane
        if lane is None or ahead.lane is not lane or not 0 < len(keys) <= LANE_KEYS:
            return None
        with self._errors:
            try:
                first, removed = await lane.sequence([ahead.command, ("UNLINK", *keys)])
            except BaseException as exc:
                ahead.settle(exc)  # sent, or not: the outcome is unknown
                raise
            ahead.settle(first)
            if isinstance(removed, Exception):
                raise removed
            return int(removed)

    async def delete_pattern(self, pattern: str) -> int:
        with self._errors:
            return await self._ops.delete_pattern(pattern)

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        """Remove every entry indexed under ``tags`` and the indexes; the number removed.

        Every member is unlinked, whatever its score: the score only tells trimming
        when a member may go, and UNLINK's count says exactly which entries existed.
        """
        if not tags:
            return 0
        with self._errors:
            return await self._ops.invalidate_tags(tags)

    # -- server ----------------------------------------------------------------------

    async def info(self) -> Mapping[str, object]:
        with self._errors:
            nodes = await self._ops.node_info()
        return summarize(self._mode, nodes)

    # -- topology (a breaker per node, see ._redis_topology) ---------------------------

    @property
    def sharded(self) -> bool:
        """Whether keys live on different nodes (Cluster); otherwise one node serves
        every key at a time, and the cache groups a batch without asking per key."""
        return self._mode == "cluster"

    def node_of(self, key: str) -> str:
        """The node serving ``key`` now (Cluster: from the slot map; Sentinel: the
        primary last discovered; standalone: the server)."""
        if self._mode == "standalone":
            return self._label
        return topology.node_of(self._client, key, self._label)

    def primaries(self) -> frozenset[str]:
        return topology.primaries(self._client, self._label)

    async def refresh_topology(self) -> None:
        """Ask the servers again: the slot map on Cluster, the primary on Sentinel."""
        with self._errors:
            await topology.refresh(self._client)

    async def ping(self) -> None:
        with self._errors:
            await self._client.ping()

    async def check_server(self) -> None:
        """Raise ConfigurationError if the server lacks a command the cache needs
        (Redis/Valkey older than 6.2, or a command renamed away). The cache runs it
        once, before its first call."""
        with self._errors:
            if isinstance(self._client, RedisCluster):
                await self._client.initialize()
            await require(self._client, CACHE_COMMANDS, what="the cache", where=self._label)

    async def close(self) -> None:
        """Release connections (only those of a client this backend owns). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._read_from is not None:
            await self._read_from.close()
        for listener in self._fills.values():
            await listener.close()
        with self._errors:
            await self._ops.drain()  # tagged sets still queued are sent and answered
            if self._lane is not None:
                await self._lane.close()  # waits for its request in flight, closes its connection
            if not self._close_client:
                return
            if self._opened is not None:
                await self._opened.close()
            else:
                await close_client(self._client)
