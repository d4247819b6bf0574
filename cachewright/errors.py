"""The one exception tree of cachewright.

Usage::

    try:
        await cache.set("user:1", user)
    except cachewright.CacheUnavailable:
        ...  # Redis is down and writes are not fail-open

The tree::

    CachewrightError
    ├── ConfigurationError        bad URL, bad option, missing extra, a server too old
    ├── InvalidKey                empty, too long, wrong type, reserved characters
    ├── SerializationError        a value that cannot be encoded or decoded
    │   └── TypeMismatch          a stored value that does not fit the requested type
    ├── CacheError
    │   └── CacheUnavailable      the cache server cannot be reached in time, or refuses us
    │       ├── CircuitOpen       the circuit breaker refuses calls for a while
    │       └── AccessDenied      the server refuses us: fix the URL or the ACL, no retry helps
    │           ├── AuthenticationFailed   wrong user name or password, or none given
    │           └── PermissionDenied       the ACL user may not run a command or touch a key
    ├── StoreError                the data store failed (the cause is chained)
    │   └── StoreUnavailable      the data store cannot be reached
    ├── LockTimeout               a distributed lock could not be had in time
    ├── LoaderTimeout             a loader outlasted ``hard_timeout`` (it goes on, and fills)
    └── WriteBehindError
        ├── QueueFull             the write-behind queue stayed full past the timeout
        ├── QueueClosed           the write-behind queue no longer accepts writes
        ├── QueueUnavailable      the durable queue's server cannot be reached
        └── NotReplicated         a replicated-durability write no replica confirmed in time

Lower-level errors (redis-py, SQLAlchemy, pydantic) are mapped at the boundary with
``raise ... from exc``: they never escape raw, and their messages are redacted so that
no password or token appears in an error.

Exceptions raised by your own code (a CacheAside loader, a ``@cached`` function, a data
store) are not cachewright's: they reach the caller unchanged, with a note naming the
key. cachewright raises its own errors only where it decides something itself, such as
a lock wait that ran out (``LockTimeout``).
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "CacheError",
    "CacheUnavailable",
    "CachewrightError",
    "CircuitOpen",
    "ConfigurationError",
    "InvalidKey",
    "LoaderTimeout",
    "LockTimeout",
    "NotReplicated",
    "PermissionDenied",
    "QueueClosed",
    "QueueFull",
    "QueueUnavailable",
    "SerializationError",
    "StoreError",
    "StoreUnavailable",
    "TypeMismatch",
    "WriteBehindError",
]


class CachewrightError(Exception):
    """Root of every error cachewright raises on purpose."""


class ConfigurationError(CachewrightError, ValueError):
    """A setting, URL or option is invalid, or an optional extra is missing."""


class InvalidKey(CachewrightError, ValueError):
    """A key is empty, too long, of the wrong type or uses a reserved character."""


class SerializationError(CachewrightError):
    """A value cannot be encoded, or stored bytes cannot be decoded."""


class TypeMismatch(SerializationError, TypeError):
    """A stored value does not validate against the type the caller asked for."""


class CacheError(CachewrightError):
    """The cache server failed an operation."""


class CacheUnavailable(CacheError, ConnectionError):
    """The cache server cannot be reached within the configured timeout, or refuses us."""

    #: True when a live server answered that it cannot serve for now (a Redis Cluster
    #: failing over: CLUSTERDOWN, TRYAGAIN): the circuit breaker of that server does not
    #: count it, since the server is up and serves again as soon as the cluster does.
    answered: bool = False


class CircuitOpen(CacheUnavailable):
    """The circuit breaker is open: calls are refused until a probe succeeds."""


class AccessDenied(CacheUnavailable):
    """The server refused the credentials or a permission: no retry will help.

    Raised at first use, with what to check (the URL is redacted). The cache is then
    as unusable as during an outage, so it is one (a ``CacheUnavailable``): reads fail
    open, write-through invalidates and succeeds, fills are skipped, fail-open writes
    are dropped. Unlike an outage, the breaker opens at once and it is logged as an
    ERROR once a minute; a flush worker stops on it, and the CLI exits with status 2.
    """


class AuthenticationFailed(AccessDenied):
    """Wrong user name or password, a disabled ACL user, or a password required and
    not given."""


class PermissionDenied(AccessDenied):
    """The ACL user lacks a command (``NOPERM``) or access to a key cachewright needs."""


class StoreError(CachewrightError):
    """The data store failed an operation; the original exception is chained."""


class StoreUnavailable(StoreError, ConnectionError):
    """The data store cannot be reached."""


class LockTimeout(CachewrightError, TimeoutError):
    """A distributed lock could not be acquired within its timeout."""


class WriteBehindError(CachewrightError):
    """Base of the write-behind queue errors."""


class QueueFull(WriteBehindError):
    """The write-behind queue stayed full past the writer's timeout; nothing was dropped."""


class QueueClosed(WriteBehindError):
    """The write-behind queue is closed and accepts no more writes."""


class QueueUnavailable(WriteBehindError, ConnectionError):
    """The durable write-behind queue's server cannot be reached."""


class LoaderTimeout(CachewrightError, TimeoutError):
    """A loader outlasted ``hard_timeout`` and no stale value could be served.

    Nothing failed: the load goes on in the background and fills the cache when it
    ends, so the next read may hit. No cause is chained.
    """

    def __init__(self, message: str, *, key: str, timeout: float) -> None:
        super().__init__(message)
        self.key = key
        self.timeout = timeout


class NotReplicated(WriteBehindError):
    """With ``durability="replicated"``, no replica confirmed the write in time.

    The write is not acknowledged, yet it is on the primary: if that primary stays up
    it may still reach the store. Treat it as "outcome unknown" and write again."""
