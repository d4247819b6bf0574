"""The synchronous ``SQLStore``: :class:`cachewright.stores.SQLStore` from threads.

Usage::

    from cachewright.sync.stores import SQLStore

    store = SQLStore("sqlite+aiosqlite:///app.db", "users", type=User, key_type=int)
    store = SQLStore(engine, "users", type=User, key_type=int)   # a sync sa.Engine
    orders = WriteThrough(cache, store, key="user:{}", type=User)

The arguments are the async ``SQLStore``'s (see its reference). The first may be a
URL or SQLAlchemy's synchronous ``Engine``: the store takes the engine's URL
(credentials included) and, in each process, opens its own async engine on it with
the matching async driver (``sqlite`` -> ``aiosqlite``; ``postgresql`` with
``psycopg2`` or ``pg8000`` -> ``asyncpg``; ``psycopg`` is async already), so a
forked child never shares its parent's pool and the app keeps one database setting.
The sync engine itself is not used for the store's queries: to run them on it, write
a repository over it and pass that (see ``cachewright.sync.stores.RepositoryStore``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from cachewright.errors import ConfigurationError
from cachewright.sync._engine import EngineStore

if TYPE_CHECKING:  # SQLAlchemy is an optional extra: imported when a store is built
    import sqlalchemy as sa

__all__ = ["SQLStore", "async_url"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# sync driver -> the async driver the async SQLStore runs on
_ASYNC_DRIVERS = {
    ("sqlite", "pysqlite"): "sqlite+aiosqlite",
    ("sqlite", "aiosqlite"): "sqlite+aiosqlite",
    ("postgresql", "psycopg2"): "postgresql+asyncpg",
    ("postgresql", "pg8000"): "postgresql+asyncpg",
    ("postgresql", "asyncpg"): "postgresql+asyncpg",
    ("postgresql", "psycopg"): "postgresql+psycopg",
}


def async_url(engine: sa.Engine) -> sa.URL:
    """The URL of ``engine`` with the async driver the async ``SQLStore`` needs."""
    url = engine.url
    driver = _ASYNC_DRIVERS.get((url.get_backend_name(), url.get_driver_name()))
    if driver is None:
        raise ConfigurationError(
            f"no async driver known for {url.drivername!r}: pass an async URL instead"
        )
    return url.set(drivername=driver)


class SQLStore(EngineStore[K, V]):
    """A table of key/value rows in SQLite or PostgreSQL (async ``SQLStore`` underneath)."""

    __slots__ = ("_table",)

    def __init__(
        self,
        url: str | sa.URL | sa.Engine,
        table: str = "profiles",
        *,
        type: Any,
        key_type: type[Any] = str,
        **options: Any,
    ) -> None:
        import sqlalchemy as sa

        from cachewright.stores import SQLStore as AsyncSQLStore

        target = async_url(url) if isinstance(url, sa.Engine) else url
        self._table = table
        super().__init__(
            lambda: AsyncSQLStore(target, table, type=type, key_type=key_type, **options)
        )

    def __repr__(self) -> str:
        return f"sync.SQLStore(table={self._table!r})"
