"""Which write-behind queue a command means, named the way the application names it.

Usage::

    name = queue_name(queue, key)          # --queue NAME, else the name --key FORMAT gives
    await require(redis_queue)             # exit 4 with a hint if no process has used it

``WriteBehind(cache, store, key="profile:{}")`` names its durable queue after its key
format (``"profile"``) through :func:`~cachewright.patterns.write_behind.queues.redis.
queue_name_for`; the commands derive the name with that same function, so
``--key 'profile:{}'`` finds the application's queue. ``--queue`` names one outright
(as ``queue_name=`` or ``RedisWriteQueue(name=...)`` did in the application).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cachewright._cli.exits import ExitCode
from cachewright._cli.runtime import fail

if TYPE_CHECKING:
    from cachewright.patterns.write_behind.queues.redis import RedisWriteQueue

__all__ = ["QueueKeyOpt", "QueueOpt", "queue_name", "require"]

QueueOpt = Annotated[
    str | None,
    typer.Option(
        "--queue",
        metavar="NAME",
        help="The queue's name, when the application gave one (queue_name=, "
        "RedisWriteQueue(name=...)). Default: derived from --key, as WriteBehind does.",
        show_default=False,
    ),
]
QueueKeyOpt = Annotated[
    str,
    typer.Option(
        "--key",
        metavar="FORMAT",
        help="The application's WriteBehind key format ('profile:{}'); names its queue "
        "('profile'), as WriteBehind does.",
    ),
]


def queue_name(queue: str | None, key: str) -> str:
    """``queue`` if given, else the name ``WriteBehind(key=key)`` gives its queue."""
    if queue is not None:
        return queue
    from cachewright.patterns.write_behind.queues.redis import queue_name_for

    return queue_name_for(key)


async def require(queue: RedisWriteQueue) -> None:
    """Exit with ``NOT_FOUND`` unless some process has used ``queue`` (asking creates
    nothing: a mistyped name is not turned into an empty queue)."""
    if await queue.exists():
        return
    fail(
        f"no write-behind queue {queue.name!r} in namespace {queue.namespace!r}: no process "
        "has used it\n"
        "  hint: WriteBehind names its queue after its key format ('profile:{}' -> "
        "'profile'): give --key with the application's format, or --queue with the name "
        "it set; check --namespace too",
        ExitCode.NOT_FOUND,
    )
