"""redis-py errors mapped to the write-behind errors at the Redis queue's boundary.

Usage::

    errors = QueueErrors(password)
    with errors:
        await client.hget(...)       # an outage leaves as QueueUnavailable, redacted

Unreachable, slow, loading (after a restart), failing-over or resharding servers
raise :class:`~cachewright.errors.QueueUnavailable`: a flush worker waits and tries
again. Anything else (a wrong password, out of memory, a script error) raises
:class:`~cachewright.errors.WriteBehindError`. Messages never carry a password.
The mapping itself is the cache backend's (one list of what counts as an outage).
"""

from __future__ import annotations

from cachewright.cache.backends._redis_errors import ErrorMap
from cachewright.errors import QueueUnavailable, WriteBehindError

__all__ = ["QueueErrors"]


class QueueErrors(ErrorMap):
    """A reusable context manager: redis-py errors in, write-behind errors out."""

    __slots__ = ()

    unavailable = QueueUnavailable
    failure = WriteBehindError
    prefix = "write queue: "
