"""The drop of a cache entry that rides behind the queue's put (one round trip).

Usage (what ``QueuedWrites`` does for a strict set, and for every delete)::

    carried = DropAfter(cache, "user:1")
    await queue.put("user:1", SET, data, 5.0, carrier=carried)
    if not carried.followed():
        await cache.delete_many(["user:1"])   # the drop again, after the put

The queue hands its put (an ``Ahead`` on its lane) to the carrier, which asks the cache
to send it first and the UNLINK of the entry behind it, in one request on the cache's
lane. ``followed()`` is True only when the put that the queue accepted is the one sent
ahead of a drop that ran: then the entry went after the write was pending. Otherwise
(another lane, the cache unavailable, NOSCRIPT or a full queue making the queue put
again on its own) a drop that may have run before the accepted put proves nothing, and
the caller drops again: a drop of an entry is always harmless.
"""

from __future__ import annotations

from cachewright._redis.ahead import Ahead
from cachewright.cache import Cache
from cachewright.errors import CachewrightError

__all__ = ["DropAfter"]


class DropAfter:
    __slots__ = ("_ahead", "_cache", "_dropped", "_key")

    def __init__(self, cache: Cache, key: str) -> None:
        self._cache = cache
        self._key = key
        self._ahead: Ahead | None = None
        self._dropped = False

    async def __call__(self, ahead: Ahead) -> None:
        self._ahead = ahead
        try:
            self._dropped = await self._cache.delete_after([self._key], ahead) is not None
        except CachewrightError:
            self._dropped = False  # the caller drops again (and counts the cache error)

    def followed(self) -> bool:
        """Whether the entry was dropped right behind the put the queue accepted."""
        ahead = self._ahead
        if not self._dropped or ahead is None or not ahead.sent or ahead.failed:
            return False
        return int(ahead.reply()) >= 0  # -1: the queue was full, the put came later
