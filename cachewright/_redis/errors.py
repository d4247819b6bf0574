"""redis-py errors mapped to cachewright's tree at the Redis boundary (cache and queue).

Usage::

    errors = ErrorMap(password)
    with errors:
        return await client.get(key)      # redis-py errors leave as CacheError

    with QueueErrors(password):
        await client.hget(...)            # an outage leaves as QueueUnavailable

Unreachable, slow, loading, failing-over or overloaded servers become
:class:`~cachewright.errors.CacheUnavailable` (the circuit breaker counts them); a
refused password or ACL permission becomes
:class:`~cachewright.errors.AuthenticationFailed` or
:class:`~cachewright.errors.PermissionDenied`, saying what to check; every other
server error becomes :class:`~cachewright.errors.CacheError`. Any other
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
    AuthenticationFailed,
    CacheError,
    CacheUnavailable,
    CachewrightError,
    PermissionDenied,
    QueueUnavailable,
    WriteBehindError,
)

__all__ = ["ErrorMap", "QueueErrors"]

# A wrong password or a missing ACL permission is a configuration problem, not an outage.
_AUTHENTICATION = (rx.AuthenticationError, rx.AuthenticationWrongNumberOfArgsError)
_PERMISSION = (rx.NoPermissionError, rx.AuthorizationError)
# What a script says when its user may not run a command or touch a key (Redis 7).
_SCRIPT_PERMISSION = "user executing the script can't"

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

# A live server saying the cluster cannot serve for now (a failover under way).
_ANSWERED = (rx.ClusterDownError, rx.TryAgainError)

# RedisClusterException does not derive from RedisError.
_REDIS_ERRORS = (rx.RedisError, rx.RedisClusterException, OSError, asyncio.TimeoutError)


class ErrorMap:
    """A reusable context manager: redis-py errors in, cachewright errors out.

    Subclasses name other targets for the same mapping (the write-behind queue raises
    ``QueueUnavailable`` and ``WriteBehindError``)."""

    __slots__ = ("_secrets", "where")

    unavailable: ClassVar[type[CachewrightError]] = CacheUnavailable
    failure: ClassVar[type[CachewrightError]] = CacheError
    prefix: ClassVar[str] = ""

    def __init__(self, *secrets: str | None, where: str = "") -> None:
        self._secrets = secrets
        #: the server, redacted (``redis://app:***@10.0.0.5:6379/0``), for messages
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.reraise(exc)

    def reraise(self, exc: BaseException) -> None:
        """Raise what ``exc`` maps to; return when it passes through as it is.

        What ``__exit__`` does, for a hot path that catches instead of entering a
        ``with`` (``except Exception as exc: errors.reraise(exc); raise``)."""
        if isinstance(exc, CachewrightError):
            return
        if not isinstance(exc, Exception):
            return  # cancellation, KeyboardInterrupt: never mapped
        message = redact(f"{self.prefix}{type(exc).__name__}: {exc}", *self._secrets)
        if not isinstance(exc, _REDIS_ERRORS):
            if _raised_in_redis(exc.__traceback__):
                # A client-library fault under a failover (a connection closed under
                # a call): the call's outcome is unknown, as with a lost connection.
                raise self.unavailable(message) from exc
            return  # a bug in the calling code: it passes through untouched
        server = f"the Redis server {self.where}".rstrip()
        if isinstance(exc, _AUTHENTICATION):
            raise AuthenticationFailed(
                f"{server} refused the credentials ({message}); check the user name and"
                " password in the URL (CACHEWRIGHT_URL), and that the ACL user exists and"
                " is enabled (ACL LIST)"
            ) from exc
        if isinstance(exc, _PERMISSION) or (
            isinstance(exc, rx.ResponseError) and _SCRIPT_PERMISSION in str(exc)
        ):
            raise PermissionDenied(
                f"{server} denied a permission ({message}); check the ACL user's rules"
                " (ACL GETUSER): it needs the commands listed in docs/operations.md and"
                " access to the namespace's keys"
            ) from exc
        if isinstance(exc, _OUTAGES):
            error = self.unavailable(message)
            if isinstance(error, CacheUnavailable) and isinstance(exc, _ANSWERED):
                error.answered = True
            raise error from exc
        raise self.failure(message) from exc


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
