"""redis-py errors mapped to the write-behind errors at the Redis queue's boundary.

Usage::

    errors = QueueErrors(password)
    with errors:
        await client.hget(...)       # an outage leaves as QueueUnavailable, redacted

Unreachable, slow, loading (after a restart), failing-over or resharding servers
raise :class:`~cachewright.errors.QueueUnavailable`: a flush worker waits and tries
again. Anything else (a wrong password, out of memory, a script error) raises
:class:`~cachewright.errors.WriteBehindError`. Messages never carry a password.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from redis import exceptions as rx

from cachewright._redact import redact
from cachewright.errors import CachewrightError, QueueUnavailable, WriteBehindError

__all__ = ["QueueErrors"]

# A wrong password or a missing ACL permission is configuration, not an outage.
_NOT_OUTAGES = (rx.AuthenticationError, rx.AuthorizationError)
_OUTAGES = (
    rx.ConnectionError,  # also BusyLoadingError (a restarted server reading its AOF)
    rx.TimeoutError,
    rx.ClusterDownError,
    rx.TryAgainError,
    rx.ReadOnlyError,
    rx.RedisClusterException,
    asyncio.TimeoutError,
    OSError,
)


class QueueErrors:
    """A reusable context manager: redis-py errors in, write-behind errors out."""

    __slots__ = ("_secrets",)

    def __init__(self, *secrets: str | None) -> None:
        self._secrets = secrets

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, CachewrightError):
            return
        if not isinstance(exc, rx.RedisError | OSError | asyncio.TimeoutError):
            return  # cancellation and programming errors pass through untouched
        message = redact(f"write queue: {type(exc).__name__}: {exc}", *self._secrets)
        if isinstance(exc, _OUTAGES) and not isinstance(exc, _NOT_OUTAGES):
            raise QueueUnavailable(message) from exc
        raise WriteBehindError(message) from exc
