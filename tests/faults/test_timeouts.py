"""G6 under a black-holed Redis: reads miss within their timeout, the breaker limits attempts.

The cache talks to a private Redis through :class:`FaultProxy`. Black-holed, the proxy
keeps accepting connections and swallows every byte, which is what a dead host behind
a load balancer or a partitioned network looks like: no RST, only silence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from cachewright import Cache, Settings
from cachewright.errors import CacheUnavailable
from tests._servers import RedisServer, wait_until_async
from tests.faults._proxy import FaultProxy

pytestmark = [pytest.mark.redis]

READ_TIMEOUT = 0.2
BREAKER_RESET = 0.5
THRESHOLD = 5
READS = 200
PACE = 0.01


@pytest.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        yield proxy


def settings() -> Settings:
    return Settings(
        read_timeout=READ_TIMEOUT,
        write_timeout=READ_TIMEOUT,
        connect_timeout=READ_TIMEOUT,
        breaker_threshold=THRESHOLD,
        breaker_reset=BREAKER_RESET,
    )


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def test_black_holed_reads_miss_in_time_and_the_breaker_limits_attempts(
    proxy: FaultProxy, namespace: str
) -> None:
    url = f"redis://127.0.0.1:{proxy.port}/0"
    async with Cache.from_url(url, namespace=namespace, settings=settings()) as cache:
        await cache.set("k", "v")
        assert await cache.get("k") == "v"

        proxy.black_hole()
        attempts_before = proxy.swallowed_chunks
        upstream_before = proxy.upstream_bytes
        durations: list[float] = []
        started = time.perf_counter()
        for _ in range(READS):
            t0 = time.perf_counter()
            async with asyncio.timeout(10 * READ_TIMEOUT):
                assert await cache.get("k") is None  # a miss, never an error
            durations.append(time.perf_counter() - t0)
            # The workload's pace (not a synchronisation): reads keep coming for a few
            # breaker periods, so the half-open probes are exercised too.
            await asyncio.sleep(PACE)
        elapsed = time.perf_counter() - started
        attempts = proxy.swallowed_chunks - attempts_before

        # A write while black-holed raises, it does not hang.
        with pytest.raises(CacheUnavailable):
            async with asyncio.timeout(10 * READ_TIMEOUT):
                await cache.set("k", "w")

        worst, tail = max(durations), p99(durations)
        print(
            f"\nblack-holed reads: {READS}, p99 {tail * 1000:.1f} ms, max {worst * 1000:.1f} ms,"
            f" attempts reaching the proxy {attempts} in {elapsed:.2f} s"
            f" (read_timeout {READ_TIMEOUT * 1000:.0f} ms, breaker {THRESHOLD}/{BREAKER_RESET} s)"
        )
        assert worst < 5 * READ_TIMEOUT, f"a read took {worst:.3f}s"
        # Closed: THRESHOLD attempts; then one probe per reset period at most.
        allowed = THRESHOLD + int(elapsed / BREAKER_RESET) + 3
        assert attempts <= allowed, f"{attempts} attempts > {allowed} (breaker not limiting)"
        assert attempts < READS / 4
        assert proxy.upstream_bytes == upstream_before, "bytes leaked through the black hole"

        # Back to normal: the breaker's probe finds the server and reads hit again.
        proxy.pass_through()
        proxy.drop()  # connections that lived through the black hole carry half-read replies

        async def hit() -> object:
            return await cache.get("k")

        await wait_until_async(hit, expect="v", timeout=10 * BREAKER_RESET + 5, interval=0.05)


async def test_latency_below_the_timeout_is_tolerated(proxy: FaultProxy, namespace: str) -> None:
    url = f"redis://127.0.0.1:{proxy.port}/0"
    async with Cache.from_url(url, namespace=namespace, settings=settings()) as cache:
        await cache.set("k", 1)
        proxy.latency(READ_TIMEOUT * 1000 / 10)
        for _ in range(10):
            assert await cache.get("k", int) == 1
        proxy.pass_through()


async def test_dropped_connections_read_as_misses_then_recover(
    proxy: FaultProxy, namespace: str
) -> None:
    url = f"redis://127.0.0.1:{proxy.port}/0"
    async with Cache.from_url(url, namespace=namespace, settings=settings()) as cache:
        await cache.set("k", 1)
        misses = 0
        for _ in range(20):
            proxy.drop()
            async with asyncio.timeout(10 * READ_TIMEOUT):
                value = await cache.get("k", int)
            assert value in (1, None)
            misses += value is None

        async def hit() -> object:
            return await cache.get("k", int)

        await wait_until_async(hit, expect=1, timeout=10 * BREAKER_RESET + 5, interval=0.05)
        print(f"\nreads after a dropped connection that missed: {misses}/20")


async def test_a_write_after_an_idle_connection_was_dropped_succeeds(
    proxy: FaultProxy, namespace: str
) -> None:
    url = f"redis://127.0.0.1:{proxy.port}/0"
    async with Cache.from_url(url, namespace=namespace, settings=settings()) as cache:
        await cache.set("k", 1)
        proxy.drop()  # the server side closes the idle connection
        # The scenario is a connection closed while idle (the server's timeout, a
        # restart, a proxy): it stays idle for a moment before the next call, as it
        # would in production, instead of racing the close within one loop turn.
        await asyncio.sleep(0.05)
        await cache.set("k", 2)
        assert await cache.get("k", int) == 2
