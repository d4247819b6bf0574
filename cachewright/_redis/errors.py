"""redis-py errors mapped to cachewright's tree at the Redis boundary (cache and queue).

Usage::

    errors = ErrorMap(password)
    with errors:
        return await client.get(key)      # redis-py errors leave as CacheError

    with QueueErrors(password):
        await client.hget(...)            # an outage leaves as QueueUnavailable

Unreachable, slow, loading, failing-over or overloaded servers become
:class:`~cachewright.errors.CacheUnavailable` (the circuit breaker counts them);
every other server error becomes :class:`~cachewright.errors.CacheError`. Any other
``Exception`` raised from inside redis-py's own code (its cluster client, rebuilding
its topology after a failover, can close a connection another call is using and fail
with ``AttributeError: 'NoneType' object has no attribute 'writelines'``) is an
outage too: nothing but a cachewright error reaches the caller. Exceptions raised by
cachewright's own code (a bug) and ``BaseException`` (cancellation) pass untouched.
Messages are redacted: no password ever appears in an error.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import ClassVar

from redis import exceptions as rx

from cachewright._redact import redact
from cachewright.errors import (
    CacheError,
    CacheUnavailable,
    CachewrightError,
    QueueUnavailable,
    WriteBehindError,
)

__all__ = ["ErrorMap", "QueueErrors"]

# A wrong password or a missing ACL permission is a configuration problem, not an outage.
_NOT_OUTAGES = (rx.AuthenticationError, rx.AuthorizationError)

_OUTAGES = (
    rx.ConnectionError,  # includes BusyLoadingError, MaxConnectionsError, MasterNotFoundError
    rx.TimeoutError,
    rx.ClusterDownError,  # includes MasterDownError
    rx.TryAgainError,  # a slot is migrating
    rx.ReadOnlyError,  # writing to a demoted primary during a failover
    rx.RedisClusterException,  # no reachable node, slot not covered
    asyncio.TimeoutError,
    OSError,
)

# RedisClusterException does not derive from RedisError.
_REDIS_ERRORS = (rx.RedisError, rx.RedisClusterException, OSError, asyncio.TimeoutError)


class ErrorMap:
    """A reusable context manager: redis-py errors in, cachewright errors out.

    Subclasses name other targets for the same mapping (the write-behind queue raises
    ``QueueUnavailable`` and ``WriteBehindError``)."""

    __slots__ = ("_secrets",)

    unavailable: ClassVar[type[CachewrightError]] = CacheUnavailable
    failure: ClassVar[type[CachewrightError]] = CacheError
    prefix: ClassVar[str] = ""

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
        if not isinstance(exc, Exception):
            return  # cancellation, KeyboardInterrupt: never mapped
        message = redact(f"{self.prefix}{type(exc).__name__}: {exc}", *self._secrets)
        if isinstance(exc, _REDIS_ERRORS):
            if isinstance(exc, _OUTAGES) and not isinstance(exc, _NOT_OUTAGES):
                raise self.unavailable(message) from exc
            raise self.failure(message) from exc
        if _raised_in_redis(tb):
            # A client-library fault under a failover (a connection closed under a
            # call): the call's outcome is unknown, as with a lost connection.
            raise self.unavailable(message) from exc
        # Anything else is a bug in the calling code: it passes through untouched.


class QueueErrors(ErrorMap):
    """The same mapping for the write-behind queue: outages are ``QueueUnavailable``
    (a flush worker waits and tries again), anything else is ``WriteBehindError``."""

    __slots__ = ()

    unavailable = QueueUnavailable
    failure = WriteBehindError
    prefix = "write queue: "


def _raised_in_redis(tb: TracebackType | None) -> bool:
    """Whether the traceback runs through redis-py's own code (its module names)."""
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module == "redis" or module.startswith("redis."):
            return True
        tb = tb.tb_next
    return False
