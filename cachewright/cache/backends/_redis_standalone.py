"""Multi-key and tag operations on one Redis server (plain, or a Sentinel primary).

Usage (what :class:`~cachewright.cache.backends.redis.RedisBackend` does)::

    ops = Standalone(client, Lane(client))
    await ops.write("set", [("shop:a", b"..", 60_000)], ["shop~tag:letters"])
    values = await ops.get_many(["shop:a", "shop:b"])        # one MGET

Every batch is one command on the wire: MGET, UNLINK, or one Lua call that writes
the values and their tag indexes atomically, so no entry is ever outside its index.
A command on up to :data:`LANE_KEYS` entries goes through the backend's
:class:`~cachewright._redis.lane.Lane`, pipelined with whatever else is in flight: the
lane's own batches are MGETs of as many keys as there are concurrent callers, so a
batch of that size costs a get queued behind it no more than they do. Anything larger
(a big batch, the pop of a tag invalidation, SCAN, INFO) goes through the client's
pool, on another connection, so it never holds up the single-key calls behind the
lane's request.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from cachewright._redis.lane import Lane
from cachewright._redis.lua import call
from cachewright.cache.backends._redis_tag_batch import TaggedSets
from cachewright.cache.backends._scripts import POP, WRITE
from cachewright.cache.backends.base import SetItem

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.typing import EncodableT

__all__ = ["LANE_KEYS", "SCAN_COUNT", "UNLINK_BATCH", "Standalone"]

#: batches of up to this many keys ride the lane; larger ones go through the pool
LANE_KEYS = 100

#: keys asked of each SCAN step; keys removed by one UNLINK
SCAN_COUNT = 1000
UNLINK_BATCH = 1000


class Standalone:
    """The batch and tag side of the backend for a single primary."""

    __slots__ = ("_client", "_lane", "_tagged")

    def __init__(self, client: Redis, lane: Lane) -> None:
        self._client = client
        self._lane = lane
        self._tagged = TaggedSets(lane)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if len(keys) == 1:
            return [cast("bytes | None", await self._lane.get(keys[0]))]
        runner = self._lane if len(keys) <= LANE_KEYS else self._client
        return cast("list[bytes | None]", await runner.execute_command("MGET", *keys))

    async def write(
        self,
        mode: str,
        items: Sequence[SetItem],
        tags: Sequence[str],
        prefix: bytes = b"",
        extra: Sequence[EncodableT] = (),
    ) -> int:
        """Run the WRITE script over ``items``; the number of entries written.
        ``extra``: the ARGV after the entries (the notice of a 'fill')."""
        keys: list[EncodableT] = [item[0] for item in items]
        keys.extend(tags)
        args: list[EncodableT] = [mode, prefix, len(items)]
        for _, value, ttl_ms in items:
            args.append(value)
            args.append("" if ttl_ms is None else ttl_ms)
        args.extend(extra)
        runner = self._lane if len(items) <= LANE_KEYS else self._client
        return int(await call(runner, WRITE, keys, args))

    def set_tagged(
        self, key: str, value: bytes, ttl_ms: int, tags: Sequence[str]
    ) -> Coroutine[Any, Any, None]:
        """One entry with a ttl, written and indexed: SET_TAGGED alone, or with the
        tagged sets issued at the same time in one SET_TAGGED_MANY (:mod:`._redis_tag_batch`).
        The batcher's own coroutine, without a frame of ours around it."""
        return self._tagged.set(key, value, ttl_ms, tags)

    async def drain(self) -> None:
        """Wait for the batched tagged sets still queued or in flight."""
        await self._tagged.drain()

    async def delete_many(self, keys: Sequence[str]) -> int:
        return await self._unlink(keys)

    async def delete_pattern(self, pattern: str) -> int:
        removed, cursor = 0, 0
        while True:
            cursor, found = await self._client.scan(cursor, match=pattern, count=SCAN_COUNT)
            if found:
                removed += await self._client.unlink(*found)
            if cursor == 0:
                return removed

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        # One atomic pop of every index, then the members go in UNLINK batches: the
        # cost follows the tagged entries, never the size of the keyspace.
        members = await call(self._client, POP, tags, ())
        return await self._unlink(list(dict.fromkeys(members)))

    async def node_info(self) -> list[tuple[Mapping[str, Any], int]]:
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.info()
            pipe.dbsize()
            info, size = await pipe.execute()
        return [(info, int(size))]

    async def _unlink(self, keys: Sequence[str | bytes]) -> int:
        if not keys:
            return 0
        if len(keys) <= LANE_KEYS:
            return int(await self._lane.command("UNLINK", *keys))
        if len(keys) <= UNLINK_BATCH:
            return int(await self._client.unlink(*keys))
        async with self._client.pipeline(transaction=False) as pipe:
            for start in range(0, len(keys), UNLINK_BATCH):
                pipe.unlink(*keys[start : start + UNLINK_BATCH])
            return sum(await pipe.execute())
