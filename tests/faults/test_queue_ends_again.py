"""The Redis queue ends a batch again once Redis answers (issue 17, item 4).

A flush worker that wrote a batch to the store while its partition's primary failed
over could not ``complete`` it: the ops stayed in flight until ``claim_idle`` passed
and another worker wrote them again. ``complete`` and ``release`` are idempotent, so
they are now made again, with short pauses, until Redis answers (within
``claim_idle``). The queue talks to a private Redis through a fault proxy that
swallows its calls for a while.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cachewright.errors import QueueUnavailable
from cachewright.patterns.queues.redis import RedisWriteQueue
from cachewright.patterns.write_behind.queues.base import SET, Batch, QueuedOp, QueueStats
from tests._servers import RedisServer, wait_until_async
from tests.faults._proxy import FaultProxy

pytestmark = [pytest.mark.redis]


@pytest.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        yield proxy


@pytest.fixture
async def queue(proxy: FaultProxy, namespace: str) -> AsyncIterator[RedisWriteQueue]:
    client = Redis(
        host="127.0.0.1",
        port=proxy.port,
        socket_timeout=0.3,
        socket_connect_timeout=0.3,
        retry=Retry(NoBackoff(), 0),
    )
    # claim_idle far longer than the test: nothing is reclaimed behind its back
    queue = RedisWriteQueue(
        client, namespace=namespace, name="ends", partitions=2, claim_idle=60, close_client=True
    )
    yield queue
    await queue.close()


async def _swallowed(proxy: FaultProxy, at_least: int) -> bool:
    return proxy.swallowed_chunks >= at_least


async def _stats_once_answered(queue: RedisWriteQueue) -> QueueStats:
    """The queue's stats. The ends run on the queue's own kept connection (its lane),
    so a pooled connection the proxy dropped may be met first here, by a client made
    without retries: asked again until Redis answers."""
    found: list[QueueStats] = []

    async def answered() -> bool:
        try:
            found.append(await queue.stats())
        except QueueUnavailable:
            return False
        return True

    await wait_until_async(answered, timeout=10, interval=0.02)
    return found[0]


@pytest.mark.parametrize("end", ["complete", "release"])
async def test_an_end_is_made_again_once_redis_answers(
    proxy: FaultProxy, queue: RedisWriteQueue, end: str
) -> None:
    for key in range(6):
        await queue.put(str(key), SET, b"v", None)
    batch = await queue.claim(10, wait=0)
    assert len(batch.ops) == 6
    ending: Callable[[Batch, tuple[QueuedOp, ...]], Coroutine[Any, Any, None]] = getattr(queue, end)
    proxy.black_hole()
    # Two partitions, so three swallowed calls mean at least one was made again.
    at_least = proxy.swallowed_chunks + 3
    task = asyncio.create_task(ending(batch, batch.ops))
    await wait_until_async(lambda: _swallowed(proxy, at_least), timeout=10, interval=0.02)
    assert not task.done()
    proxy.pass_through()
    proxy.drop()  # the connections of the black hole carry half-sent calls
    await task  # no QueueUnavailable: it ended once Redis answered
    stats = await _stats_once_answered(queue)
    assert stats.in_flight == 0
    assert stats.pending == (0 if end == "complete" else 6)
