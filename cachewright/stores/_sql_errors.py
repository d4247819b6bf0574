"""Map SQLAlchemy and driver errors to ``StoreError`` / ``StoreUnavailable``, redacted.

Usage::

    try:
        ...
    except Exception as exc:
        raise store_error(exc, "set_many", where="table 'profiles' at postgresql://...",
                          secrets=(password,)) from exc

Connection-type failures (the server is down, the connection was cut, the file cannot
be opened) become ``StoreUnavailable``; everything else becomes ``StoreError``. The
message carries the driver's message, never SQLAlchemy's statement and parameters
(those are user data), with the URL's password removed.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

from cachewright._redact import redact
from cachewright.errors import StoreError, StoreUnavailable

__all__ = ["is_unavailable", "store_error"]

_UNAVAILABLE_SA: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # pool checkout timed out
)


@functools.cache
def _asyncpg_unavailable() -> tuple[type[Exception], ...]:
    try:
        # import_module: asyncpg ships no type information, and it is optional.
        asyncpg = importlib.import_module("asyncpg")
    except ImportError:
        return ()
    return (
        asyncpg.PostgresConnectionError,  # SQLSTATE class 08
        asyncpg.OperatorInterventionError,  # class 57: admin shutdown, cannot connect now
        asyncpg.TooManyConnectionsError,
        asyncpg.InterfaceError,  # "connection is closed"
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes (driver errors hide under SQLAlchemy's adapters)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, sa_exc.DBAPIError) and isinstance(current.orig, BaseException):
            current = current.orig
        else:
            current = current.__cause__


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the store cannot be reached (rather than refused the call)."""
    driver = _asyncpg_unavailable()
    for error in _chain(exc):
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _UNAVAILABLE_SA + driver + (OSError,)):
            return True
    return False


def _detail(exc: BaseException) -> str:
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig  # the driver's message, without [SQL: ...] and [parameters: ...]
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def store_error(
    exc: BaseException, operation: str, *, where: str, secrets: tuple[str | None, ...] = ()
) -> StoreError:
    """The ``StoreError`` to raise (``from exc``) for ``exc``."""
    kind = StoreUnavailable if is_unavailable(exc) else StoreError
    detail = redact(_detail(exc), *secrets)[:500]
    return kind(f"{operation} on {where} failed: {detail}")
