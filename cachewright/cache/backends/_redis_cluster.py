"""Multi-key and tag operations on a Redis Cluster (G2, G3).

Usage (what :class:`~cachewright.cache.backends.redis.RedisBackend` does)::

    ops = Cluster(client)
    values = await ops.get_many(keys)     # one round trip per node, all nodes at once
    removed = await ops.invalidate_tags(["shop~tag:users"])

Batches go through a non-transactional cluster pipeline: redis-py groups its
commands by node and sends one pipeline per node concurrently (``asyncio.gather``
in ``PipelineStrategy._execute``), following MOVED/ASK redirections. Multi-key
commands are built per hash slot, so none ever crosses slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from redis.exceptions import NoScriptError

from cachewright.cache.backends._redis_standalone import SCAN_COUNT, UNLINK_BATCH
from cachewright.cache.backends._scripts import INDEX, POP, WRITE, as_eval
from cachewright.cache.backends.base import SetItem

if TYPE_CHECKING:
    from redis.asyncio.cluster import ClusterNode, RedisCluster
    from redis.typing import EncodableT

__all__ = ["Cluster"]

Command = tuple[Any, ...]
T = TypeVar("T")


class Cluster:
    """The batch and tag side of the backend for a Redis Cluster."""

    __slots__ = ("_client",)

    def __init__(self, client: RedisCluster) -> None:
        self._client = client

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        by_slot = self._by_slot(keys)
        replies = await self._pipeline([("MGET", *group) for group in by_slot.values()])
        found: dict[EncodableT, bytes | None] = {}
        for group, values in zip(by_slot.values(), replies, strict=True):
            found.update(zip(group, values, strict=True))
        return [found[key] for key in keys]

    async def write(
        self,
        mode: str,
        items: Sequence[SetItem],
        tags: Sequence[str],
        prefix: bytes = b"",
        extra: Sequence[EncodableT] = (),
    ) -> int:
        """Write ``items`` (see the WRITE script for ``mode``) and index them under ``tags``.

        Entries and tag indexes live in different slots, so this cannot be one atomic
        step. The order keeps the promise that a live entry is never missing from
        the index of a tag it carries:

        1. index the members first: if we stop here (crash, cancellation), or the
           write does not happen (a failed add or compare_and_set), the index holds
           a member that stands for no tagged value. That is harmless: at worst a
           later invalidation removes one entry more than it had to;
        2. write the values;
        3. index the written members again. A concurrent ``invalidate_tags`` may have
           popped the index after 1 and unlinked its members before our value
           landed; re-adding restores the member (for a member still present, ZADD GT
           only moves its deadline forward). This is the "check with ZSCORE, ZADD the
           missing" step done in one atomic script call instead of two round trips.
           If the invalidation deleted our value after all, the re-added member
           dangles, harmlessly, until it is trimmed.
        """
        if tags:
            await self._index(tags, items)
        if mode == "set":
            await self._pipeline([_set_command(item) for item in items])
            written = list(items)
        else:
            commands = [
                ("EVALSHA", WRITE.sha, 1, key, mode, prefix, 1, value, _ttl(ttl), *extra)
                for key, value, ttl in items
            ]
            flags = await self._pipeline(commands)
            written = [item for item, flag in zip(items, flags, strict=True) if flag]
        if tags and written:
            await self._index(tags, written)
        return len(written)

    async def set_tagged(self, key: str, value: bytes, ttl_ms: int, tags: Sequence[str]) -> None:
        """One entry with a ttl, written and indexed: :meth:`write`, as in a batch."""
        await self.write("set", [(key, value, ttl_ms)], tags)

    async def drain(self) -> None:
        """Nothing is queued on Cluster: every call sends its own commands."""

    async def delete_many(self, keys: Sequence[str]) -> int:
        return await self._unlink(keys)

    async def delete_pattern(self, pattern: str) -> int:
        nodes = self._client.get_primaries()
        return sum(await _gather([self._delete_on(node, pattern) for node in nodes]))

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        # Per tag, an atomic pop on the index's node; then the members are unlinked
        # per slot, every node at once. Nothing scans the keyspace.
        popped = await self._pipeline([("EVALSHA", POP.sha, 1, tag) for tag in tags])
        members = dict.fromkeys(member for batch in popped for member in batch)
        return await self._unlink(list(members))

    async def node_info(self) -> list[tuple[Mapping[str, Any], int]]:
        async def one(node: ClusterNode) -> tuple[Mapping[str, Any], int]:
            info = await self._client.execute_command("INFO", target_nodes=node)
            size = await self._client.execute_command("DBSIZE", target_nodes=node)
            return info, int(size)

        return await _gather([one(node) for node in self._client.get_primaries()])

    # -- helpers ---------------------------------------------------------------------

    def _by_slot(self, keys: Sequence[EncodableT]) -> dict[int, list[EncodableT]]:
        groups: dict[int, list[EncodableT]] = {}
        for key in keys:
            groups.setdefault(self._client.keyslot(key), []).append(key)
        return groups

    async def _index(self, tags: Sequence[str], items: Sequence[SetItem]) -> None:
        args: list[EncodableT] = []
        for key, _, ttl in items:
            args.append(key)
            args.append(_ttl(ttl))
        await self._pipeline([("EVALSHA", INDEX.sha, 1, tag, *args) for tag in tags])

    async def _unlink(self, keys: Sequence[EncodableT]) -> int:
        commands = [
            ("UNLINK", *group[start : start + UNLINK_BATCH])
            for group in self._by_slot(keys).values()
            for start in range(0, len(group), UNLINK_BATCH)
        ]
        return sum(await self._pipeline(commands))

    async def _delete_on(self, node: ClusterNode, pattern: str) -> int:
        removed, cursor = 0, 0
        while True:
            cursors, found = await self._client.execute_command(
                "SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT, target_nodes=node
            )
            cursor = int(next(iter(cursors.values())))
            removed += await self._unlink(found)
            if cursor == 0:
                return removed

    async def _pipeline(self, commands: Sequence[Command]) -> list[Any]:
        """Run ``commands`` in one pipeline per node; raise the first error, unannotated."""
        if not commands:
            return []
        replies = await self._run(commands)
        lost = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if lost:
            # A restarted or failed-over node lost its script cache: EVAL those commands
            # (nothing ran for them) and the node caches the scripts again.
            again = await self._run([as_eval(commands[i]) for i in lost])
            for i, reply in zip(lost, again, strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def _run(self, commands: Sequence[Command]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return await pipe.execute(raise_on_error=False)


async def _gather(calls: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Await every node's call, then raise the first failure: no call is left running."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast("list[T]", results)


def _ttl(ttl_ms: int | None) -> EncodableT:
    return "" if ttl_ms is None else ttl_ms


def _set_command(item: SetItem) -> Command:
    key, value, ttl_ms = item
    return ("SET", key, value) if ttl_ms is None else ("SET", key, value, "PX", ttl_ms)
