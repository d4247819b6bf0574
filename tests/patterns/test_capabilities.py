"""A server without a command the queue needs is named at first connect, said once.

The private redis-server here really lacks XAUTOCLAIM (``rename-command XAUTOCLAIM
""``), as a Redis older than 6.2 does: the queue must refuse with a
``ConfigurationError`` naming the command and the minimum version, the in-app flusher
must say so once (not a traceback per interval), and a flush worker must stop with a
non-zero exit instead of waiting out an "outage" for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from cachewright import Cache, ConfigurationError, RedisWriteQueue, WriteBehind
from cachewright._cli.app import app
from cachewright._cli.exits import ExitCode
from cachewright.patterns.worker import run_worker
from cachewright.stores import MemoryStore
from tests._servers import RedisServer, need, redis_binary, wait_until_async

pytestmark = [pytest.mark.redis]

INTERVAL = 0.05


@pytest.fixture(scope="module")
def no_xautoclaim() -> Iterator[RedisServer]:
    if redis_binary() is None:
        need("redis-server binary not found")
    server = RedisServer(extra_args=["--rename-command", "XAUTOCLAIM", ""]).start()
    try:
        yield server
    finally:
        server.cleanup()


def _says_what_is_missing(error: object) -> None:
    text = str(error)
    assert "XAUTOCLAIM" in text
    assert "6.2" in text


async def test_the_queue_names_the_missing_command_once(
    no_xautoclaim: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cachewright")
    async with RedisWriteQueue.from_url(no_xautoclaim.url, namespace=namespace) as queue:
        with pytest.raises(ConfigurationError) as first:
            await queue.put("k", "set", b"v", timeout=1.0)
        _says_what_is_missing(first.value)
        with pytest.raises(ConfigurationError) as again:
            await queue.claim(10, wait=0)
        assert str(again.value) == str(first.value)  # remembered, not asked again
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_write_behind_refuses_writes_and_its_flusher_says_so_once(
    no_xautoclaim: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cachewright")
    cache = Cache.from_url(no_xautoclaim.url, namespace=namespace)
    profiles: WriteBehind[int, int] = WriteBehind(
        cache, MemoryStore(), key="p:{}", type=int, flush_interval=INTERVAL
    )
    try:
        await profiles.start()

        async def said() -> int:
            return sum("XAUTOCLAIM" in r.getMessage() for r in caplog.records)

        await wait_until_async(said, expect=1, timeout=10)
        with pytest.raises(ConfigurationError) as raised:
            await profiles.set(1, 1)  # not accepted: it could never be flushed
        _says_what_is_missing(raised.value)
        # Many flush intervals later (time passing, not a synchronisation): still once.
        await asyncio.sleep(20 * INTERVAL)
        assert await said() == 1
        assert not [r for r in caplog.records if r.exc_info], "no traceback"
    finally:
        await profiles.close()
        await cache.close()


async def test_a_flush_worker_stops_with_the_error(no_xautoclaim: RedisServer) -> None:
    async with asyncio.timeout(30):
        with pytest.raises(ConfigurationError) as raised:
            await run_worker(no_xautoclaim.url, MemoryStore, type=int, handle_signals=False)
    _says_what_is_missing(raised.value)


def test_the_worker_command_exits_non_zero(no_xautoclaim: RedisServer) -> None:
    result: Any = CliRunner().invoke(
        app,
        ["--url", no_xautoclaim.url, "worker", "--store", "cachewright.stores:MemoryStore"],
    )
    assert result.exit_code == ExitCode.USAGE, result.output
    _says_what_is_missing(result.stderr)


@pytest.fixture(scope="module")
def no_zadd() -> Iterator[RedisServer]:
    if redis_binary() is None:
        need("redis-server binary not found")
    server = RedisServer(extra_args=["--rename-command", "ZADD", ""]).start()
    try:
        yield server
    finally:
        server.cleanup()


async def test_the_cache_names_a_missing_command_at_first_use(
    no_zadd: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cachewright")
    async with Cache.from_url(no_zadd.url, namespace=namespace) as cache:
        with pytest.raises(ConfigurationError) as raised:
            await cache.set("k", 1, tags=["t"])
        assert "ZADD" in str(raised.value)
        assert "6.2" in str(raised.value)
        for _ in range(100):
            assert await cache.get("k") is None  # reads fail open
        assert (await cache.stats(server=False)).circuit_state == "open"
    said = [r for r in caplog.records if "ZADD" in r.getMessage()]
    assert 1 <= len(said) <= 2, [r.getMessage() for r in said]  # the write's error, the breaker
