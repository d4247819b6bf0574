"""A command that must run before another component's commands on one lane.

Usage (what the write-behind queue's put and the cache's drop do together)::

    ahead = Ahead(lane, ("EVALSHA", sha, 1, "q", "v"))
    await backend.delete_after(["shop:user:1"], ahead)   # sends it first, then UNLINK
    if ahead.reply.done():
        version = ahead.reply.result()                     # raises an error reply
    else:
        version = await lane.command(*ahead.command)       # nothing went out

Whoever carries it sends ``command`` first in one :meth:`Lane.sequence` on ``lane``
(never on another lane: the order holds only on one connection, where Redis runs
commands in the order they arrive) and settles ``reply``: the command's reply, its
error reply, or the error that left its outcome unknown. ``reply`` not done means
the command was never sent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from redis.typing import EncodableT

    from cachewright._redis.lane import Lane

__all__ = ["Ahead"]


class Ahead:
    """A command, the lane it must go through, and its reply once sent (see above)."""

    __slots__ = ("command", "lane", "reply")

    def __init__(self, lane: Lane, command: tuple[EncodableT, ...]) -> None:
        self.lane = lane
        self.command = command
        self.reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def settle(self, reply: Any) -> None:
        """Record the reply (an error reply or an exception: as an exception)."""
        if self.reply.done():
            return
        if isinstance(reply, asyncio.CancelledError):
            # Cancelled after it may have been sent: its outcome is unknown.
            reply = RedisTimeoutError("cancelled before the reply")
        if isinstance(reply, BaseException):
            self.reply.set_exception(reply)
        else:
            self.reply.set_result(reply)
