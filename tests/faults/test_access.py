"""Refused credentials and permissions: a typed error saying what to check, the breaker
open at once, and log lines that do not grow with the request rate.

A private redis-server runs with ``--requirepass`` and an ACL user that may read but
not write.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Iterator

import pytest

from cachewright import (
    AccessDenied,
    AuthenticationFailed,
    Cache,
    CacheAside,
    CacheUnavailable,
    CircuitOpen,
    ConfigurationError,
    PermissionDenied,
    RedisWriteQueue,
    Settings,
    WriteThrough,
)
from cachewright._logs import Throttle
from cachewright.stores import MemoryStore
from tests._servers import RedisServer, need, redis_binary

pytestmark = [pytest.mark.redis]

PASSWORD = "Adm1n-pw-7q"
READER = "Re4der-pw-3x"


@pytest.fixture(scope="module")
def locked() -> Iterator[RedisServer]:
    if redis_binary() is None:
        need("redis-server binary not found")
    # Started open (so the fixture can see it is up), then locked as --requirepass would.
    server = RedisServer().start()
    try:
        _lock(server)
        yield server
    finally:
        server.cleanup()


def _url(server: RedisServer, userinfo: str) -> str:
    return f"redis://{userinfo}@127.0.0.1:{server.port}/0"


def _settings(namespace: str) -> Settings:
    return Settings(namespace=namespace, breaker_threshold=5, breaker_reset=30.0)


def _text(records: list[logging.LogRecord]) -> str:
    return "\n".join(record.getMessage() for record in records)


@pytest.mark.parametrize("userinfo", [":wrong-pw", "", "nobody:wrong-pw"])
async def test_refused_credentials_raise_at_first_use_and_open_the_breaker(
    locked: RedisServer, userinfo: str, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cachewright")
    url = _url(locked, userinfo) if userinfo else f"redis://127.0.0.1:{locked.port}/0"
    async with Cache.from_url(url, settings=_settings(namespace)) as cache:
        with pytest.raises(AuthenticationFailed) as raised:
            await cache.set("k", "v")
        error = raised.value
        assert isinstance(error, AccessDenied)
        # The cache is as unusable as in an outage (reads fail open, patterns degrade
        # the same way), but no retry will help: the breaker opens at once.
        assert isinstance(error, CacheUnavailable)
        assert not isinstance(error, ConfigurationError | CircuitOpen)
        assert "check the user name and password" in str(error)
        assert "wrong-pw" not in str(error)
        # Open at once (threshold 5): the next calls do not reach the server.
        stats = await cache.stats(server=False)
        assert stats.circuit_state == "open"
        with pytest.raises(CircuitOpen) as refused:
            await cache.set("k", "v")
        assert "refused the credentials" in str(refused.value)  # the reason is kept
        assert await cache.get("k") is None  # reads fail open
    assert "wrong-pw" not in _text(caplog.records)


async def test_a_thousand_refused_reads_cost_a_bounded_number_of_log_lines(
    locked: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cachewright")
    # The breaker re-probes after a millisecond and the reads come every 2 ms (the
    # workload's pace, not a synchronisation): most of them really fail at the server.
    settings = Settings(namespace=namespace, breaker_threshold=1, breaker_reset=0.001)
    async with Cache.from_url(_url(locked, ":wrong-pw"), settings=settings) as cache:
        for _ in range(1000):
            assert await cache.get("k") is None
            await asyncio.sleep(0.002)
        stats = await cache.stats(server=False)
    assert stats.fail_open_reads == 1000
    assert stats.errors > 100, "the reads were meant to reach the server"
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    # One ERROR for the read, one WARNING for the breaker: each once per minute.
    assert 1 <= len(records) <= 4, _text(records)
    assert any(
        isinstance(r.msg, str) and "refused the credentials" in r.getMessage() for r in records
    )


async def test_the_patterns_degrade_as_in_an_outage(locked: RedisServer, namespace: str) -> None:
    store: MemoryStore[int, int] = MemoryStore()
    async with Cache.from_url(_url(locked, ":wrong-pw"), namespace=namespace) as cache:
        orders = WriteThrough(cache, store, key="order:{}", type=int)
        await orders.set(1, 10)  # the store took it: the call succeeds (G9)
        assert await store.get(1) == 10
        users = CacheAside(cache, loader=store.get, key="user:{}", type=int)
        assert await users.get(1) == 10  # served from the loader, fill skipped


async def test_an_acl_user_without_a_permission_gets_permission_denied(
    locked: RedisServer, namespace: str
) -> None:
    async with Cache.from_url(_url(locked, f"reader:{READER}"), namespace=namespace) as cache:
        assert await cache.get("k") is None  # GET is allowed: a plain miss
        with pytest.raises(PermissionDenied) as raised:
            await cache.set("k", "v")
        assert isinstance(raised.value, AccessDenied)
        assert "ACL" in str(raised.value)
        assert READER not in str(raised.value)
        assert (await cache.stats(server=False)).circuit_state == "open"


async def test_the_queue_raises_refused_credentials_at_first_use(
    locked: RedisServer, namespace: str
) -> None:
    queue = RedisWriteQueue.from_url(_url(locked, ":wrong-pw"), namespace=namespace, name="q")
    async with queue:
        with pytest.raises(AuthenticationFailed) as raised:
            await queue.put("k", "set", b"v", timeout=1.0)
        assert "wrong-pw" not in str(raised.value)


# -- the throttle itself ---------------------------------------------------------------


def test_a_repeated_line_is_said_once_per_period_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttle = Throttle(logging.getLogger("cachewright.test"), period=60.0, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="cachewright.test")
    for second in range(100):
        now[0] = float(second)
        throttle.warning("server down: %s", f"attempt {second}")
        throttle.error("another problem")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "server down: attempt 0",
        "another problem",
        "server down: attempt 60 (repeated 59 times in the last 60 s)",
        "another problem (repeated 59 times in the last 60 s)",
    ]


def _lock(server: RedisServer) -> None:
    def cli(*args: str, auth: bool = True) -> None:
        login = ["--user", "default", "--pass", PASSWORD, "--no-auth-warning"] if auth else []
        subprocess.run(
            ["redis-cli", "-p", str(server.port), *login, *args],
            check=True,
            capture_output=True,
            timeout=10,
        )

    cli("CONFIG", "SET", "requirepass", PASSWORD, auth=False)
    cli("ACL", "SETUSER", "reader", "on", f">{READER}", "~*", "+get", "+hello", "+ping")
