"""A command that must run before another component's commands on one lane.

Usage (what the write-behind queue's put and the cache's drop do together)::

    ahead = Ahead(lane, ("EVALSHA", sha, 1, "q", "v"))
    await backend.delete_after(["shop:user:1"], ahead)   # sends it first, then UNLINK
    if ahead.sent:
        version = ahead.reply()                            # raises an error reply
    else:
        version = await lane.command(*ahead.command)       # nothing went out

Whoever carries it sends ``command`` first in one :meth:`Lane.sequence` on ``lane``
(never on another lane: the order holds only on one connection, where Redis runs
commands in the order they arrive) and settles ``reply``: the command's reply, its
error reply, or the error that left its outcome unknown. Not ``sent`` means the
command never went out.
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

    __slots__ = ("_error", "_reply", "command", "lane", "sent")

    def __init__(self, lane: Lane, command: tuple[EncodableT, ...]) -> None:
        self.lane = lane
        self.command = command
        self.sent = False  # True once settled: the command went out (or may have)
        self._reply: Any = None
        self._error: BaseException | None = None

    def settle(self, reply: Any) -> None:
        """Record the reply; an error reply, or the error that left the outcome unknown,
        is kept to be raised by :meth:`reply`. The first settle wins."""
        if self.sent:
            return
        self.sent = True
        if isinstance(reply, asyncio.CancelledError):
            # Cancelled after it may have been sent: its outcome is unknown.
            reply = RedisTimeoutError("cancelled before the reply")
        if isinstance(reply, BaseException):
            self._error = reply
        else:
            self._reply = reply

    def reply(self) -> Any:
        """The reply, or raise what it met (only once ``sent``)."""
        if self._error is not None:
            raise self._error
        return self._reply

    @property
    def failed(self) -> bool:
        """Whether it met an error (an error reply included)."""
        return self._error is not None
