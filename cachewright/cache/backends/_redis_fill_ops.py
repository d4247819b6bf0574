"""The Redis backend's fill notices: lease-or-read, the notifying fill, the hub.

Usage (what :class:`~cachewright.cache.FillWaits` does through the backend)::

    found = await backend.lease_or_get(key, lease, ttl_ms)      # None: the lease is ours
    await backend.fill_notify(key, prefix, value, ttl_ms, tags, "shop~fill")
    hub = await backend.fill_hub("shop~fill", 1.0)              # this process's waiters

:class:`~cachewright.cache.backends.redis.RedisBackend` inherits these; the
subscription itself is :class:`._redis_fills.FillListener`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from redis.exceptions import ResponseError

from cachewright.cache.backends._redis_fills import FillListener
from cachewright.cache.backends.fills import ATTACH_LIMIT, FillHub, head

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from cachewright._redis.errors import ErrorMap
    from cachewright._redis.lane import Lane
    from cachewright.cache.backends._redis_cluster import Cluster
    from cachewright.cache.backends._redis_standalone import Standalone

__all__ = ["FillOps"]


class FillOps:
    """Fill notices (G7 across processes, see ``Cache.fills``) on a Redis backend."""

    __slots__ = ("_nx_get",)  # SET NX GET (Redis 7.0+); False once the server refused it
    # Slots of the RedisBackend (set in its __init__).
    _client: Redis | RedisCluster
    _closed: bool
    _errors: ErrorMap
    _fills: dict[str, FillListener]
    _lane: Lane | None
    _ops: Standalone | Cluster
    _nx_get: bool

    if TYPE_CHECKING:  # RedisBackend's own

        async def add(
            self, key: str, value: bytes, ttl_ms: int | None, tags: Sequence[str] = ()
        ) -> bool: ...

        async def get(self, key: str) -> bytes | None: ...

    async def lease_or_get(
        self, key: str, lease: bytes, ttl_ms: int, tags: Sequence[str] = ()
    ) -> bytes | None:
        """Put ``lease`` on ``key`` if it is absent (None: done), else what it holds.

        One ``SET NX PX GET`` on Redis 7.0+; a SET NX then a GET on older servers and
        with tags (the lease is indexed by the WRITE script)."""
        with self._errors:
            if not tags and self._nx_get:
                try:
                    if self._lane is not None:
                        found = await self._lane.command(
                            "SET", key, lease, "NX", "PX", ttl_ms, "GET"
                        )
                    else:
                        found = await self._client.set(key, lease, px=ttl_ms, nx=True, get=True)
                    return cast("bytes | None", found)
                except ResponseError:  # NX with GET: Redis < 7.0
                    self._nx_get = False
            if await self.add(key, lease, ttl_ms, tags):
                return None
            found = await self.get(key)
            return b"" if found is None else found  # b"": gone again, read once more

    async def fill_notify(
        self,
        key: str,
        expected_prefix: bytes,
        value: bytes,
        ttl_ms: int | None,
        tags: Sequence[str],
        channel: str,
    ) -> bool:
        """``compare_and_set``, then publish the outcome to the key's waiters on
        ``channel``, in the same script (one round trip)."""
        attach = b"1" if len(value) <= ATTACH_LIMIT else b"0"
        with self._errors:
            written = await self._ops.write(
                "fill", [(key, value, ttl_ms)], tags, expected_prefix, (channel, head(key), attach)
            )
        return written == 1

    async def notify_released(self, key: str, channel: str) -> None:
        """Tell ``key``'s waiters its lease is gone (they read it again)."""
        with self._errors:
            await self._client.publish(channel, head(key) + b"r")

    async def fill_hub(self, channel: str, seconds: float) -> FillHub | None:
        """This process's waiters on ``channel``, once subscribed (None: not now)."""
        if self._closed:
            return None
        listener = self._fills.get(channel)
        if listener is None:
            listener = self._fills[channel] = FillListener(self._client, channel)
        return await listener.ready(seconds)
