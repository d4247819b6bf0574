"""``SQLStore``: a data store in one SQLite or PostgreSQL table, on SQLAlchemy async Core.

Usage::

    from cachewright.stores import SQLStore

    async with SQLStore("postgresql+asyncpg://app:pw@db/shop", "profiles",
                        type=Profile, key_type=int) as store:
        await store.set(1, profile)                   # upsert; the table is created lazily
        await store.set_many({2: p2, 3: p3})          # one INSERT ... ON CONFLICT DO UPDATE
        await store.get_many([1, 2, 4])               # one SELECT: {1: ..., 2: ...}

    # An existing table: id BIGINT PRIMARY KEY, doc JSONB NOT NULL
    people = SQLStore(engine, "people", type=Person, key_type=int,
                      key_column="id", value_column="doc", create=False)

Values are kept as JSON text written by a pydantic ``TypeAdapter(type)`` (anything
pydantic accepts: models, dataclasses, TypedDicts, builtins), next to an ``updated_at``
timestamp. A table the store creates is ``key BIGINT|TEXT PRIMARY KEY, value TEXT,
updated_at TIMESTAMPTZ``. An existing table is reflected on first use and checked: the
key column must be unique, the value column text, ``json`` or ``jsonb``;
``updated_at_column`` is stamped when the table has it and ignored otherwise.

Batches: ``set_many`` checks every key and value first (``InvalidKey``,
``TypeMismatch``, ``SerializationError``) so a bad item writes nothing, then runs in one
transaction as ONE ``INSERT ... ON CONFLICT (key) DO UPDATE`` statement; ``get_many`` and
``delete_many`` are one statement each too. The whole batch travels in one or two
parameters (PostgreSQL arrays through ``unnest``, a JSON array through SQLite's
``json_each``; see ``_sql_statements``), so no batch size runs into the drivers'
bound-parameter limits (asyncpg: 32,767, SQLite: 32,766) and SQLAlchemy compiles each
statement once. ``batch_size`` caps the rows (or keys) per statement, for very large
batches: the statements of one batch still share one transaction, so the batch is
written entirely or not at all. SQLite needs its JSON functions (built in since 3.38).

Errors: connection failures raise ``StoreUnavailable``, other database failures
``StoreError``, both with the URL's password redacted. A stored value that no longer
validates raises ``TypeMismatch`` naming its key. The store disposes the engine it
created on ``close()`` (or leaving ``async with``), never one it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cachewright.errors import CachewrightError, ConfigurationError, StoreError
from cachewright.stores._sql_codec import RowCodec
from cachewright.stores._sql_engine import create_engine, display_url
from cachewright.stores._sql_errors import store_error
from cachewright.stores._sql_schema import TableSpec, resolve_table
from cachewright.stores._sql_statements import Statements
from cachewright.stores.base import BaseStore

__all__ = ["SQLStore"]

K = TypeVar("K", bound=int | str)
V = TypeVar("V")
T = TypeVar("T")

_SUPPORTED = ("postgresql", "sqlite")


def _chunks(items: Sequence[T], size: int | None) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size`` (all at once when ``size`` is None)."""
    step = size or max(len(items), 1)
    for start in range(0, len(items), step):
        yield items[start : start + step]


class SQLStore(BaseStore[K, V], Generic[K, V]):
    """A ``DataStore`` over one table; see the module docstring for usage.

    - ``url_or_engine``: a SQLAlchemy async URL (``sqlite+aiosqlite:///...``,
      ``postgresql+asyncpg://...``) or an ``AsyncEngine`` the caller keeps owning.
    - ``table``, ``schema``: where the rows live.
    - ``type``: what values are (anything ``pydantic.TypeAdapter`` accepts);
      ``key_type``: ``str`` (default) or ``int``.
    - ``key_column``, ``value_column``, ``updated_at_column`` (``None``: no timestamp):
      the column names, for a table of your own.
    - ``create``: create the table on first use when it is missing (default ``True``).
    - ``batch_size``: rows or keys per statement (default: the whole batch in one).
    - ``engine_options``: extra ``create_async_engine`` arguments, for a URL only.
    - ``timeout``: seconds a connection, a pool checkout or a statement may take before
      the call fails with ``StoreUnavailable`` (default 5; None: wait forever), for a
      URL only. A silent database then fails calls in time instead of hanging them.
    """

    __slots__ = (
        "_batch_size",
        "_closed",
        "_codec",
        "_create",
        "_engine",
        "_lock",
        "_owns_engine",
        "_secret",
        "_spec",
        "_sql",
        "_where",
    )

    @overload
    def __init__(
        self: SQLStore[str, V],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: type[V],
        key_type: type[str] = ...,
        key_column: str = ...,
        value_column: str = ...,
        updated_at_column: str | None = ...,
        schema: str | None = ...,
        create: bool = ...,
        batch_size: int | None = ...,
        engine_options: Mapping[str, Any] | None = ...,
        timeout: float | None = ...,
    ) -> None: ...

    @overload
    def __init__(
        self: SQLStore[int, V],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: type[V],
        key_type: type[int],
        key_column: str = ...,
        value_column: str = ...,
        updated_at_column: str | None = ...,
        schema: str | None = ...,
        create: bool = ...,
        batch_size: int | None = ...,
        engine_options: Mapping[str, Any] | None = ...,
        timeout: float | None = ...,
    ) -> None: ...

    @overload  # a type form that is not a class: list[Profile], Profile | None, ...
    def __init__(
        self: SQLStore[str, Any],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: Any,
        key_type: type[str] = ...,
        key_column: str = ...,
        value_column: str = ...,
        updated_at_column: str | None = ...,
        schema: str | None = ...,
        create: bool = ...,
        batch_size: int | None = ...,
        engine_options: Mapping[str, Any] | None = ...,
        timeout: float | None = ...,
    ) -> None: ...

    @overload
    def __init__(
        self: SQLStore[int, Any],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: Any,
        key_type: type[int],
        key_column: str = ...,
        value_column: str = ...,
        updated_at_column: str | None = ...,
        schema: str | None = ...,
        create: bool = ...,
        batch_size: int | None = ...,
        engine_options: Mapping[str, Any] | None = ...,
        timeout: float | None = ...,
    ) -> None: ...

    def __init__(
        self,
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = "profiles",
        *,
        type: Any,
        key_type: type[Any] = str,
        key_column: str = "key",
        value_column: str = "value",
        updated_at_column: str | None = "updated_at",
        schema: str | None = None,
        create: bool = True,
        batch_size: int | None = None,
        engine_options: Mapping[str, Any] | None = None,
        timeout: float | None = 5.0,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {batch_size}")
        self._codec: RowCodec[K, V] = RowCodec(type, key_type=key_type)
        self._spec = TableSpec(
            table, schema, key_column, value_column, updated_at_column, key_type=key_type
        )
        if isinstance(url_or_engine, AsyncEngine):
            if engine_options:
                raise ConfigurationError("engine_options only apply to an engine built from a URL")
            self._engine, self._owns_engine = url_or_engine, False
        else:
            self._engine = create_engine(url_or_engine, engine_options or {}, timeout=timeout)
            self._owns_engine = True
        dialect = self._engine.dialect.name
        if dialect not in _SUPPORTED:
            raise ConfigurationError(f"SQLStore supports sqlite and postgresql, not {dialect!r}")
        self._batch_size = batch_size
        self._secret = self._engine.url.password
        self._where = f"table {self._spec.qualified_name!r} at {display_url(self._engine.url)}"
        self._create = create
        self._sql: Statements | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"SQLStore({display_url(self._engine.url)!r}, table={self._spec.qualified_name!r}, "
            f"type={self._codec.type_name}, key_type={self._spec.key_type.__name__})"
        )

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (owned by the store only if it built it from a URL)."""
        return self._engine

    @property
    def table_name(self) -> str:
        """The table, schema-qualified when a schema was given."""
        return self._spec.qualified_name

    async def create_table(self) -> None:
        """Create the table if it does not exist (even with ``create=False``), then check it.

        Optional: the first operation does the same when ``create=True``.
        """
        async with self._lock:
            self._sql = await self._prepare(create=True)

    async def get(self, key: K) -> V | None:
        key = self._codec.check_key(key)
        sql = await self._statements()
        with self._errors("get"):
            async with self._engine.connect() as conn:
                row = (await conn.execute(*sql.select_one(key))).first()
        return None if row is None else self._codec.decode(key, row[0])

    async def set(self, key: K, value: V) -> None:
        await self.set_many({key: value})

    async def delete(self, key: K) -> None:
        key = self._codec.check_key(key)
        sql = await self._statements()
        with self._errors("delete"):
            async with self._engine.begin() as conn:
                await conn.execute(*sql.delete_one(key))

    async def exists(self, key: K) -> bool:
        key = self._codec.check_key(key)
        sql = await self._statements()
        with self._errors("exists"):
            async with self._engine.connect() as conn:
                return (await conn.execute(*sql.exists(key))).first() is not None

    async def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        unique = list(dict.fromkeys(self._codec.check_key(key) for key in keys))
        if not unique:
            return {}
        sql = await self._statements()
        with self._errors("get_many"):
            async with self._engine.connect() as conn:
                rows = [
                    row
                    for chunk in _chunks(unique, self._batch_size)
                    for row in (await conn.execute(*sql.select_many(chunk))).all()
                ]
        # Decoded after the connection went back to the pool.
        return {key: self._codec.decode(key, text) for key, text in rows}

    async def set_many(self, items: Mapping[K, V]) -> None:
        # Every item is checked before the database is touched: a bad one writes nothing.
        rows = [
            (self._codec.check_key(key), self._codec.encode(key, value))
            for key, value in items.items()
        ]
        if not rows:
            return
        sql = await self._statements()
        with self._errors("set_many"):
            async with self._engine.begin() as conn:
                for chunk in _chunks(rows, self._batch_size):
                    await conn.execute(*sql.upsert(chunk))

    async def delete_many(self, keys: Sequence[K]) -> None:
        unique = list(dict.fromkeys(self._codec.check_key(key) for key in keys))
        if not unique:
            return
        sql = await self._statements()
        with self._errors("delete_many"):
            async with self._engine.begin() as conn:
                for chunk in _chunks(unique, self._batch_size):
                    await conn.execute(*sql.delete_many(chunk))

    async def close(self) -> None:
        """Dispose the engine if the store built it; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_engine:
            await self._engine.dispose()

    async def _statements(self) -> Statements:
        if self._sql is None:
            async with self._lock:
                if self._sql is None:
                    self._sql = await self._prepare(create=self._create)
        return self._sql

    async def _prepare(self, *, create: bool) -> Statements:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        with self._errors("preparing the table"):
            async with self._engine.begin() as conn:
                table = await conn.run_sync(resolve_table, self._spec, create)
        spec = self._spec
        return Statements(
            table,
            spec.key_column,
            spec.value_column,
            spec.updated_at_column,
            dialect=self._engine.dialect.name,
        )

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """Map driver and SQLAlchemy errors at the boundary; refuse a closed store."""
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        try:
            yield
        except CachewrightError:
            raise
        except Exception as exc:
            raise store_error(exc, operation, where=self._where, secrets=(self._secret,)) from exc
