"""G6 at the backend: a dead or hung server raises CacheUnavailable fast, then recovers."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from cachewright.cache.backends.redis import RedisBackend
from cachewright.errors import CacheUnavailable
from cachewright.settings import Settings
from tests._servers import RedisServer, wait_until_async
from tests.cache.backends.conftest import Names

TIMEOUT = 0.5
BOUND = 5.0  # generous: "about twice the timeout", without asserting tight timings


@pytest.fixture
async def on_fresh(fresh_redis: RedisServer) -> AsyncIterator[RedisBackend]:
    settings = Settings(connect_timeout=TIMEOUT, read_timeout=TIMEOUT)
    instance = RedisBackend.from_url(fresh_redis.url, settings=settings)
    try:
        yield instance
    finally:
        await instance.close()


def every_method(backend: RedisBackend, names: Names) -> dict[str, Callable[[], Awaitable[object]]]:
    key, tag = names.key("k"), names.tag("t")
    return {
        "get": lambda: backend.get(key),
        "get_many": lambda: backend.get_many([key, names.key("k2")]),
        "set": lambda: backend.set(key, b"v", None),
        "set tagged": lambda: backend.set(key, b"v", 1_000, [tag]),
        "set_many": lambda: backend.set_many([(key, b"v", None)]),
        "add": lambda: backend.add(key, b"v", None),
        "compare_and_set": lambda: backend.compare_and_set(key, b"v", b"w", None),
        "touch_if": lambda: backend.touch_if(key, b"v", 1_000),
        "delete": lambda: backend.delete(key),
        "delete_many": lambda: backend.delete_many([key]),
        "delete_pattern": lambda: backend.delete_pattern(f"{names.namespace}:*"),
        "invalidate_tags": lambda: backend.invalidate_tags([tag]),
        "exists": lambda: backend.exists(key),
        "pttl": lambda: backend.pttl(key),
        "expire": lambda: backend.expire(key, 1_000),
        "incr": lambda: backend.incr(names.key("n"), 1),
        "info": lambda: backend.info(),
        "ping": lambda: backend.ping(),
    }


async def answers(backend: RedisBackend) -> bool:
    try:
        await backend.ping()
    except CacheUnavailable:
        return False
    return True


async def test_a_dead_server_fails_fast_and_the_backend_recovers_by_itself(
    on_fresh: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    await on_fresh.set_many([(names.key("k"), b"v", None)], [names.tag("t")])
    fresh_redis.kill()
    loop = asyncio.get_running_loop()
    for name, call in every_method(on_fresh, names).items():
        started = loop.time()
        with pytest.raises(CacheUnavailable) as caught:
            await call()
        assert loop.time() - started < BOUND, name
        assert caught.value.__cause__ is not None, name

    fresh_redis.start()
    await wait_until_async(lambda: answers(on_fresh), timeout=10)
    # The restarted server has an empty script cache: the scripts are sent again.
    await on_fresh.set_many([(names.key("k"), b"back", None)], [names.tag("t")])
    assert await on_fresh.get(names.key("k")) == b"back"
    assert await on_fresh.invalidate_tags([names.tag("t")]) == 1


async def test_a_hung_server_times_out(
    on_fresh: RedisBackend, fresh_redis: RedisServer, names: Names
) -> None:
    await on_fresh.set(names.key("k"), b"v", None)  # a pooled, established connection
    process = fresh_redis.process
    assert process is not None
    process.send_signal(signal.SIGSTOP)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(CacheUnavailable):
            await on_fresh.get(names.key("k"))
        assert loop.time() - started < BOUND
    finally:
        process.send_signal(signal.SIGCONT)
    await wait_until_async(lambda: answers(on_fresh), timeout=10)
    assert await on_fresh.get(names.key("k")) == b"v"
