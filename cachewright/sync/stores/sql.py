"""The synchronous ``SQLStore``: :class:`cachewright.stores.SQLStore` from threads.

Usage::

    from cachewright.sync.stores import SQLStore

    store = SQLStore("sqlite+aiosqlite:///app.db", "users", type=User, key_type=int)
    store = SQLStore("postgresql+asyncpg://app@db/shop", "users", type=User, key_type=int)
    orders = WriteThrough(cache, store, key="user:{}", type=User)

The arguments are the async ``SQLStore``'s (see its reference), with a URL (async
driver) rather than an engine: each process builds its own engine from it, so a
forked child never shares its parent's pool. To use SQLAlchemy's *synchronous*
``Engine`` instead, write a repository over it and pass that (see
``cachewright.sync.stores.RepositoryStore``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from cachewright.sync.stores._engine import EngineStore

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["SQLStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SQLStore(EngineStore[K, V]):
    """A table of key/value rows in SQLite or PostgreSQL (async ``SQLStore`` underneath)."""

    __slots__ = ("_table",)

    def __init__(
        self,
        url: str | sa.URL,
        table: str = "profiles",
        *,
        type: Any,
        key_type: type[Any] = str,
        **options: Any,
    ) -> None:
        from cachewright.stores import SQLStore as AsyncSQLStore

        self._table = table
        super().__init__(lambda: AsyncSQLStore(url, table, type=type, key_type=key_type, **options))

    def __repr__(self) -> str:
        return f"sync.SQLStore(table={self._table!r})"
