"""A writer process: ``total`` puts into the Redis queue, each acknowledged to a file.

Environment: ``CW_URL``, ``CW_NAMESPACE``, ``CW_NAME``, ``CW_PARTITIONS``, ``CW_TOTAL``,
``CW_KEYS``, ``CW_TASKS``, ``CW_ACKS`` (a file path).

Write ``i`` (0 <= i < total) sets key ``i % keys`` to ``i``. Task ``t`` makes the writes
``i = t, t + tasks, ...`` one after another, so with ``keys % tasks == 0`` each key is
written by one task, in order: its values grow by ``keys`` each time. After ``put``
returns (the write is accepted), ``"key value\\n"`` is appended to the acks file with
one unbuffered ``write``: a SIGKILL loses at most the acks of puts in progress, never
an ack of a write that was not accepted. A put that raises ``QueueUnavailable`` was
not accepted (a connection timed out on a starved machine, say): the writer tries it
again, as an application would, and acknowledges it only once it is accepted.
"""

from __future__ import annotations

import asyncio
import os

from cachewright.errors import QueueUnavailable
from cachewright.patterns.write_behind.queues import SET
from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue


async def put(queue: RedisWriteQueue, key: int, value: int) -> None:
    """Put until accepted; each failure was a write not taken (retrying is safe)."""
    pause = 0.01
    while True:
        try:
            await queue.put(str(key), SET, str(value).encode(), 30.0)
            return
        except QueueUnavailable:
            await asyncio.sleep(pause)  # a backoff timer, not synchronisation
            pause = min(pause * 2, 0.5)


async def main() -> None:
    env = os.environ
    total, keys, tasks = int(env["CW_TOTAL"]), int(env["CW_KEYS"]), int(env["CW_TASKS"])
    queue = RedisWriteQueue.from_url(
        env["CW_URL"],
        namespace=env["CW_NAMESPACE"],
        name=env["CW_NAME"],
        partitions=int(env["CW_PARTITIONS"]),
    )
    acks = os.open(env["CW_ACKS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def write(task: int) -> None:
        for i in range(task, total, tasks):
            key = i % keys
            await put(queue, key, i)
            os.write(acks, f"{key} {i}\n".encode())

    try:
        await asyncio.gather(*(write(task) for task in range(tasks)))
    finally:
        os.close(acks)
        await queue.close()


if __name__ == "__main__":
    asyncio.run(main())
