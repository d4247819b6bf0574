"""G14: whatever happens to a half-open probe, the breaker lets the next call probe.

A private redis-server is frozen with SIGSTOP (a stalled host: the socket stays open,
nothing answers), the breaker opens, the half-open probe is cancelled by its caller
(what a web framework's own request timeout does), the server is resumed with
SIGCONT, and reads must be served again within ``breaker_reset`` plus one timeout.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from cachewright import Cache, CacheError, Settings
from cachewright._metrics import NOOP
from cachewright.cache._breakers import Breakers
from cachewright.cache._guard import Guard
from cachewright.cache._stats import Counters
from cachewright.errors import AuthenticationFailed
from tests._servers import RedisServer, wait_until_async

pytestmark = [pytest.mark.redis]

TIMEOUT = 0.3
RESET = 0.5
# Generous slack for a loaded machine: this is a liveness bound, not a benchmark.
SLACK = 3.0


def _settings(namespace: str) -> Settings:
    return Settings(
        namespace=namespace,
        connect_timeout=TIMEOUT,
        read_timeout=TIMEOUT,
        write_timeout=TIMEOUT,
        breaker_threshold=1,
        breaker_reset=RESET,
    )


@pytest.fixture
def frozen(fresh_redis: RedisServer) -> Iterator[Callable[[bool], None]]:
    """``frozen(True)`` stops the server (SIGSTOP), ``frozen(False)`` resumes it."""
    process = fresh_redis.process
    assert process is not None

    def freeze(on: bool) -> None:
        process.send_signal(signal.SIGSTOP if on else signal.SIGCONT)

    try:
        yield freeze
    finally:
        process.send_signal(signal.SIGCONT)


async def _state(cache: Cache) -> str:
    return (await cache.stats(server=False)).circuit_state


async def test_a_cancelled_probe_does_not_leave_the_breaker_half_open(
    fresh_redis: RedisServer, frozen: Callable[[bool], None], namespace: str
) -> None:
    async with Cache.from_url(fresh_redis.url, settings=_settings(namespace)) as cache:
        await cache.set("k", "v")
        frozen(True)
        assert await cache.get("k") is None  # times out: the breaker opens
        assert await _state(cache) == "open"

        async def state() -> str:
            return await _state(cache)

        await wait_until_async(state, expect="half_open", timeout=RESET + SLACK)
        # The probe: its caller gives up long before the read timeout.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(cache.get("k"), TIMEOUT / 10)

        frozen(False)
        resumed = time.monotonic()

        async def read() -> object:
            return await cache.get("k")

        await wait_until_async(read, expect="v", timeout=RESET + TIMEOUT + SLACK, interval=0.02)
        print(f"\nserved again {time.monotonic() - resumed:.3f} s after SIGCONT")
        assert await _state(cache) == "closed"


async def test_a_probe_task_cancelled_while_the_server_is_frozen(
    fresh_redis: RedisServer, frozen: Callable[[bool], None], namespace: str
) -> None:
    async with Cache.from_url(fresh_redis.url, settings=_settings(namespace)) as cache:
        await cache.set("r", "v")
        frozen(True)
        with pytest.raises(CacheError):
            await cache.set("k", "w")  # the breaker opens on the write's timeout

        async def state() -> str:
            return await _state(cache)

        await wait_until_async(state, expect="half_open", timeout=RESET + SLACK)
        probe = asyncio.create_task(cache.set("k", "x"))
        await asyncio.sleep(0)  # the probe is sent and waits for the frozen server
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        frozen(False)

        async def read() -> object:
            # "k": the two writes that timed out may still land once the server runs.
            return await cache.get("r")

        await wait_until_async(read, expect="v", timeout=RESET + TIMEOUT + SLACK, interval=0.02)


# -- every way a probe can end releases it -------------------------------------------


async def _cancelled() -> None:
    raise asyncio.CancelledError


async def _cache_error() -> None:
    raise CacheError("WRONGTYPE Operation against a key holding the wrong kind of value")


async def _bug() -> None:
    raise RuntimeError("a bug in a backend")


async def _refused() -> None:
    raise AuthenticationFailed("the server refused the credentials")


async def _ok() -> str:
    return "ok"


@pytest.mark.parametrize(
    ("probe", "raised"),
    [
        (_cancelled, asyncio.CancelledError),
        (_cache_error, None),
        (_bug, RuntimeError),
        (_refused, None),
    ],
    ids=["cancelled", "cache-error", "unexpected", "refused"],
)
async def test_every_end_of_a_probe_frees_the_slot(
    probe: Callable[[], Awaitable[Any]], raised: type[BaseException] | None
) -> None:
    breakers = Breakers(threshold=1, reset_after=0.01)
    breaker = breakers.at(None)  # the one node of a backend without a topology
    guard = Guard(breakers, Counters(), NOOP, NOOP.attributes(), fail_open_writes=False)
    breaker.failure("down")
    assert breaker.state == "open"

    async def half_open() -> str:
        return breaker.state.value

    await wait_until_async(half_open, expect="half_open", timeout=SLACK)
    if raised is None:
        assert await guard.read("default", probe) == "default"
    else:
        with pytest.raises(raised):
            await guard.read("default", probe)
    # An error reply proves the server up (closed); a refused password opens the
    # breaker again; a cancellation or a bug leaves the slot free. In every case a
    # later call reaches the server again.

    async def served() -> str:
        return await guard.read("default", _ok)

    await wait_until_async(served, expect="ok", timeout=SLACK)
    assert breaker.state == "closed"
