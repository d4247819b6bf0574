"""A strict set (or a delete) on WriteBehind's own Redis queue: the drop of the cache
entry leaves right behind the put, on the same connection, so Redis runs the put first.

Watched with MONITOR on a private server: for every key, the put (the put script's
EVALSHA naming the key) and the UNLINK of its entry come from one connection, the put
first, and no UNLINK of the entry runs before its put. A put that fell back to
redis-py (NOSCRIPT after SCRIPT FLUSH) still has its entry dropped after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from cachewright import Cache
from cachewright.patterns.write_behind import WriteBehind
from cachewright.stores import MemoryStore
from tests._servers import RedisServer
from tests.patterns._write_support import Item

DONE = "cw-monitor-done"


@asynccontextmanager
async def monitored(url: str) -> AsyncIterator[list[dict[str, Any]]]:
    """The commands the server ran while the block ran, in the order it ran them."""
    seen: list[dict[str, Any]] = []
    watcher = Redis.from_url(url)
    other = Redis.from_url(url)
    try:
        async with watcher.monitor() as monitor:  # MONITOR is on once entered

            async def collect() -> None:
                while True:
                    command = await monitor.next_command()
                    if command["command"] == f"ECHO {DONE}":
                        return
                    seen.append(command)

            task = asyncio.create_task(collect())
            try:
                yield seen
                await other.echo(DONE)
                await asyncio.wait_for(task, 10)
            finally:
                task.cancel()
    finally:
        await other.aclose()
        await watcher.aclose()


def _args(command: dict[str, Any]) -> list[str]:
    return str(command["command"]).split(" ")


def _put_of(command: dict[str, Any]) -> str | None:
    """The queue key a put names (its first ARGV), or None for another command."""
    args = _args(command)
    if args[0] not in ("EVALSHA", "EVAL"):
        return None
    return args[3 + int(args[2])]


def _check_order(seen: list[dict[str, Any]], queue_key: str, entry: str) -> None:
    """The entry's first UNLINK follows a put of the key from the same connection."""
    tcp = [c for c in seen if c["client_type"] == "tcp"]
    puts = [i for i, c in enumerate(tcp) if _put_of(c) == queue_key]
    drops = [i for i, c in enumerate(tcp) if _args(c) == ["UNLINK", entry]]
    assert puts, f"no put of {queue_key}"
    assert drops, f"no drop of {entry}"
    first_put, first_drop = puts[0], drops[0]
    assert first_put < first_drop, f"{entry} dropped before its put"
    put, drop = tcp[first_put], tcp[first_drop]
    assert (put["client_address"], put["client_port"]) == (
        drop["client_address"],
        drop["client_port"],
    ), "the put and the drop went on different connections"


async def test_the_drop_leaves_behind_the_put_on_one_connection(
    fresh_redis: RedisServer,
) -> None:
    async with Cache.from_url(fresh_redis.url, namespace="pd") as cache:
        items = WriteBehind(cache, MemoryStore[int, Item](), key="i:{}", type=Item, flusher=False)
        assert items.strict  # the default on the shared Redis queue
        await items.set(0, Item(name="warm"))  # the first put loads the script
        for k in range(1, 70):
            await cache.set(f"i:{k}", Item(name="old"))
        async with monitored(fresh_redis.url) as seen:
            await items.set(1, Item(name="alone"))
            # Concurrent sets: their puts and drops queue behind the request in flight.
            await asyncio.gather(*(items.set(k, Item(name="new", n=k)) for k in range(2, 66)))
            await items.delete(66)
        for k in range(1, 67):
            _check_order(seen, str(k), f"pd:i:{k}")
            assert await cache.get(f"i:{k}") is None  # dropped (strict)
        assert await items.get(1) == Item(name="alone")
        assert await items.get(65) == Item(name="new", n=65)
        assert await items.get(66) is None
        await items.close(timeout=5)


async def test_a_put_loaded_through_redis_py_has_its_entry_dropped_after_it(
    fresh_redis: RedisServer,
) -> None:
    async with Cache.from_url(fresh_redis.url, namespace="pd") as cache:
        items = WriteBehind(cache, MemoryStore[int, Item](), key="i:{}", type=Item, flusher=False)
        await items.set(0, Item(name="warm"))
        await cache.set("i:5", Item(name="old"))
        client = cache.shared_client
        assert isinstance(client, Redis)
        await client.script_flush()  # the next EVALSHA on the lane meets NOSCRIPT
        async with monitored(fresh_redis.url) as seen:
            await items.set(5, Item(name="new"))
        tcp = [c for c in seen if c["client_type"] == "tcp"]
        puts = [i for i, c in enumerate(tcp) if _put_of(c) == "5"]
        drops = [i for i, c in enumerate(tcp) if _args(c) == ["UNLINK", "pd:i:5"]]
        assert puts
        assert drops
        assert drops[-1] > puts[-1]  # the last word on the entry came after the put
        assert await cache.get("i:5") is None
        assert await items.get(5) == Item(name="new")
        await items.close(timeout=5)


async def test_a_lone_strict_set_is_one_request(fresh_redis: RedisServer) -> None:
    """The put and the drop reach the server together: one read of the socket per set
    (the server's own count, INFO total_reads_processed), not two."""
    async with Cache.from_url(fresh_redis.url, namespace="pd") as cache:
        items = WriteBehind(cache, MemoryStore[int, Item](), key="i:{}", type=Item, flusher=False)
        await items.set(0, Item(name="warm"))
        probe = Redis.from_url(fresh_redis.url)
        try:
            before = int((await probe.info("stats"))["total_reads_processed"])
            for k in range(1, 51):
                await items.set(k, Item(name="new", n=k))
            after = int((await probe.info("stats"))["total_reads_processed"])
        finally:
            await probe.aclose()
        # 50 requests and the second INFO; two requests per set would be 100 or more.
        assert after - before <= 50 + 5
        assert await items.get(50) == Item(name="new", n=50)
        await items.close(timeout=5)
