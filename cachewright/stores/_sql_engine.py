"""Engines for ``SQLStore``: built from a URL with safe defaults, and shown without secrets.

Usage::

    engine = create_engine("postgresql+asyncpg://app:pw@db/shop", {"pool_size": 10})
    display_url(engine.url)     # 'postgresql+asyncpg://app:***@db/shop'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from cachewright._redact import redact_url
from cachewright.errors import ConfigurationError

__all__ = ["create_engine", "display_url"]


def _use_wal(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: readers no longer block the writer (and the reverse)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


_SECRET_QUERY_NAMES = ("password", "passwd", "pwd", "token", "secret")


def _with_timeouts(url: str, options: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    merged = dict(options)
    connect_args = dict(merged.get("connect_args", {}))
    if url.startswith("postgresql+asyncpg"):
        connect_args.setdefault("timeout", timeout)  # connecting
        connect_args.setdefault("command_timeout", timeout)  # each statement
        merged.setdefault("pool_timeout", timeout)  # waiting for a pooled connection
    elif url.startswith("sqlite"):
        connect_args.setdefault("timeout", timeout)  # waiting for a lock
        if not _in_memory(url):  # a file database has a pool (in memory: one connection)
            if "poolclass" not in merged:
                # SQLAlchemy's default for aiosqlite files from 2.0.38; before, NullPool,
                # which takes no pool_timeout.
                merged["poolclass"] = AsyncAdaptedQueuePool
            merged.setdefault("pool_timeout", timeout)  # waiting for a pooled connection
    merged["connect_args"] = connect_args
    return merged


def _in_memory(url: str) -> bool:
    try:
        parsed = sa.make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        return False  # create_async_engine reports the bad URL
    database = parsed.database or ""
    return database in ("", ":memory:") or parsed.query.get("mode") == "memory"


def display_url(url: sa.URL) -> str:
    """``url`` without its password (and query secrets such as ``sslpassword``)."""
    hidden = {name: "***" for name in url.query if name.lower().endswith(_SECRET_QUERY_NAMES)}
    return url.update_query_dict(hidden).render_as_string(hide_password=True)


def create_engine(
    url: str | sa.URL, options: Mapping[str, Any], *, timeout: float | None = None
) -> AsyncEngine:
    """An async engine with ``pool_pre_ping``, hidden parameters, and WAL for SQLite.

    ``timeout`` bounds connecting, waiting for a pooled connection and each statement,
    unless ``options`` set those themselves. A missing driver or a malformed URL raises
    ``ConfigurationError``, URL redacted.
    """
    shown = redact_url(str(url)) if isinstance(url, str) else display_url(url)
    if timeout is not None:
        options = _with_timeouts(str(url), options, timeout)
    try:
        # hide_parameters: row values are user data; keep them out of error messages.
        engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **options)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"the database driver for {shown} is missing: install cachewright[sql] ({exc.name})"
        ) from None
    except (sa_exc.SQLAlchemyError, ValueError, TypeError) as exc:  # make_url raises all three
        # SQLAlchemy's message may repeat the URL with its password: not chained.
        raise ConfigurationError(f"cannot use database URL {shown}: {type(exc).__name__}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _use_wal)
    return engine
