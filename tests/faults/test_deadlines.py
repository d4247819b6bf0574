"""G14: every timeout setting bounds what it says, against a silent server.

The silent server is :class:`FaultProxy` black-holed: connections are accepted and
every byte is swallowed, with no reset (a dead host behind a load balancer). Each call
must fail with its typed error within its own bound. The bound plus a generous slack
is a correctness check (the call does not wait for some *other*, longer timeout), not
a benchmark.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from cachewright import Cache, CacheUnavailable, QueueUnavailable, RedisWriteQueue, Settings
from cachewright.cache.local._redis_channel import RedisChannel
from cachewright.errors import StoreUnavailable
from cachewright.patterns.write_behind import WriteBehind
from cachewright.stores import MemoryStore, SQLStore
from tests._servers import RedisServer
from tests.faults._proxy import FaultProxy

pytestmark = [pytest.mark.redis]

SHORT = 0.3
# SQLStore's timeout also bounds preparing the table (a few statements): a loaded
# machine needs more than SHORT for that, so the SQL tests use this.
SQL_TIMEOUT = 1.0
LONG = 3.0
SLACK = 1.5


@pytest.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        yield proxy


def _url(proxy: FaultProxy) -> str:
    return f"redis://127.0.0.1:{proxy.port}/0"


class _Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def within(self, bound: float) -> float:
        took = time.monotonic() - self.started
        assert took < bound + SLACK, f"took {took:.2f}s, bound {bound}s"
        return took


async def test_a_write_is_bounded_by_write_timeout_not_read_timeout(
    proxy: FaultProxy, namespace: str
) -> None:
    settings = Settings(namespace=namespace, read_timeout=LONG, write_timeout=SHORT)
    async with Cache.from_url(_url(proxy), settings=settings) as cache:
        assert await cache.get("k") is None  # connected and checked, unhurried
        await cache.set("k", "v")
        proxy.black_hole()
        clock = _Clock()
        with pytest.raises(CacheUnavailable) as raised:
            await cache.set("k", "w")
        clock.within(SHORT)
        assert "write_timeout" in str(raised.value)


async def test_a_read_is_bounded_by_read_timeout_not_write_timeout(
    proxy: FaultProxy, namespace: str
) -> None:
    settings = Settings(namespace=namespace, read_timeout=SHORT, write_timeout=LONG)
    async with Cache.from_url(_url(proxy), settings=settings) as cache:
        await cache.set("k", "v")
        proxy.black_hole()
        clock = _Clock()
        assert await cache.get("k") is None  # fails open
        clock.within(SHORT)
        assert (await cache.stats(server=False)).fail_open_reads == 1


async def test_a_slow_write_is_not_cut_by_a_shorter_read_timeout(
    proxy: FaultProxy, namespace: str
) -> None:
    settings = Settings(namespace=namespace, read_timeout=SHORT, write_timeout=LONG)
    async with Cache.from_url(_url(proxy), settings=settings) as cache:
        await cache.set("k", "v")
        proxy.latency(SHORT * 1000)  # each way: a round trip of twice the read timeout
        await cache.set("k", "w")  # within write_timeout: succeeds
        proxy.pass_through()
        assert await cache.get("k") == "w"


async def test_connecting_to_a_silent_server_is_bounded_by_the_call(
    proxy: FaultProxy, namespace: str
) -> None:
    proxy.black_hole()  # the TCP connect succeeds, the handshake never answers
    settings = Settings(
        namespace=namespace, connect_timeout=LONG, read_timeout=LONG, write_timeout=SHORT
    )
    async with Cache.from_url(_url(proxy), settings=settings) as cache:
        clock = _Clock()
        with pytest.raises(CacheUnavailable):
            await cache.set("k", "v")
        clock.within(SHORT)


async def test_waiting_for_a_pooled_connection_is_bounded(
    proxy: FaultProxy, namespace: str
) -> None:
    settings = Settings(
        namespace=namespace,
        max_connections=2,
        connect_timeout=LONG,
        read_timeout=LONG,
        write_timeout=SHORT,
        breaker_threshold=1000,
    )
    async with Cache.from_url(_url(proxy), settings=settings) as cache:
        assert await cache.get("k") is None  # connected and checked, unhurried
        proxy.black_hole()
        clock = _Clock()
        # More callers than connections: most wait for a checkout that never comes.
        results = await asyncio.gather(
            *(cache.delete_many([f"k{i}", f"j{i}"]) for i in range(8)), return_exceptions=True
        )
        clock.within(SHORT)
        assert all(isinstance(r, CacheUnavailable) for r in results), results


async def test_a_channel_publish_is_bounded_by_write_timeout(
    proxy: FaultProxy, namespace: str
) -> None:
    settings = Settings(read_timeout=LONG, connect_timeout=LONG, write_timeout=SHORT)
    channel = RedisChannel(_url(proxy), f"{namespace}~inv", settings)
    try:
        await channel.publish(b"{}")
        proxy.black_hole()
        clock = _Clock()
        with pytest.raises(CacheUnavailable):
            await channel.publish(b"{}")
        clock.within(SHORT)
    finally:
        await channel.close()


async def test_a_queue_put_is_bounded_by_write_timeout(proxy: FaultProxy, namespace: str) -> None:
    settings = Settings(read_timeout=LONG, connect_timeout=LONG, write_timeout=SHORT)
    queue = RedisWriteQueue.from_url(_url(proxy), settings=settings, namespace=namespace)
    async with queue:
        assert await queue.peek("a") is None  # connected and checked, unhurried
        await queue.put("a", "set", b"1", timeout=1.0)
        proxy.black_hole()
        clock = _Clock()
        with pytest.raises(QueueUnavailable):
            await queue.put("b", "set", b"2", timeout=1.0)
        clock.within(SHORT)
        proxy.pass_through()
        proxy.drop()


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "fast"])
async def test_a_write_behind_set_is_bounded_by_write_timeout(
    proxy: FaultProxy, namespace: str, strict: bool
) -> None:
    """The put on the cache's lane (strict: with the drop carried behind it; fast: then
    the cache's set), against a server gone silent mid-stream: the typed error within
    write_timeout, whichever of the put's and the cache's deadlines ends it."""
    settings = Settings(
        namespace=namespace, read_timeout=LONG, connect_timeout=LONG, write_timeout=SHORT
    )
    async with Cache.from_url(_url(proxy), settings=settings) as cache:
        items = WriteBehind(
            cache, MemoryStore[int, str](), key="i:{}", type=str, flusher=False, strict=strict
        )
        for k in range(20):  # connected, checked, the script loaded: unhurried
            await items.set(k, "warm")
        proxy.black_hole()
        clock = _Clock()
        with pytest.raises(QueueUnavailable):
            await items.set(99, "frozen")
        clock.within(SHORT)
        proxy.pass_through()
        proxy.drop()
        await items.close(timeout=LONG)


async def test_a_queue_peek_is_bounded_by_read_timeout(proxy: FaultProxy, namespace: str) -> None:
    settings = Settings(read_timeout=SHORT, connect_timeout=LONG, write_timeout=LONG)
    queue = RedisWriteQueue.from_url(_url(proxy), settings=settings, namespace=namespace)
    async with queue:
        await queue.put("a", "set", b"1", timeout=1.0)
        proxy.black_hole()
        clock = _Clock()
        with pytest.raises(QueueUnavailable):
            await queue.peek("a")
        clock.within(SHORT)
        proxy.pass_through()
        proxy.drop()


# -- SQLStore: connect, pool checkout, statement ---------------------------------------


@pytest.fixture
async def pg_proxy(pg_url: str) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", 5432) as proxy:
        yield proxy


def _pg(proxy: FaultProxy) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test"


@pytest.mark.postgres
async def test_sql_connect_is_bounded_by_the_store_timeout(pg_proxy: FaultProxy) -> None:
    pg_proxy.black_hole()
    store = SQLStore(
        _pg(pg_proxy), f"t_{uuid.uuid4().hex[:8]}", type=int, key_type=int, timeout=SQL_TIMEOUT
    )
    try:
        clock = _Clock()
        with pytest.raises(StoreUnavailable):
            await store.get(1)
        clock.within(SQL_TIMEOUT)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_sql_statement_and_checkout_are_bounded_by_the_store_timeout(
    pg_proxy: FaultProxy, pg_url: str
) -> None:
    table = f"t_{uuid.uuid4().hex[:8]}"
    setup = SQLStore(pg_url, table, type=int, key_type=int)  # the table, made directly
    try:
        await setup.set(1, 1)
    finally:
        await setup.close()
    store = SQLStore(
        _pg(pg_proxy),
        table,
        type=int,
        key_type=int,
        timeout=SQL_TIMEOUT,
        engine_options={"pool_size": 1, "max_overflow": 0},
    )
    try:
        assert await store.get(1) == 1  # connected, the table known
        pg_proxy.black_hole()
        clock = _Clock()
        # One connection: the first call's statement hangs, the others wait to check out.
        results = await asyncio.gather(*(store.get(1) for _ in range(3)), return_exceptions=True)
        clock.within(SQL_TIMEOUT * 2)  # a checkout may wait for the statement, then time out
        assert all(isinstance(r, StoreUnavailable) for r in results), results
    finally:
        pg_proxy.pass_through()
        pg_proxy.drop()
        await store.close()
