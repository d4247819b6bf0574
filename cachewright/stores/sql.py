"""``SQLStore``: a data store in one SQLite or PostgreSQL table, on SQLAlchemy async Core.

Usage::

    from cachewright.stores import SQLStore

    async with SQLStore("postgresql+asyncpg://app:pw@db/shop", "profiles",
                        type=Profile, key_type=int) as store:
        await store.set(1, profile)                   # upsert; the table is created lazily
        await store.check_item(2, profile)            # what set would refuse, refused now
        await store.set_many({2: p2, 3: p3})          # one INSERT ... ON CONFLICT DO UPDATE
        await store.get_many([1, 2, 4])               # one SELECT: {1: ..., 2: ...}

    # An existing table: id BIGINT PRIMARY KEY, doc JSONB NOT NULL
    people = SQLStore(engine, "people", type=Person, key_type=int,
                      key_column="id", value_column="doc", create=False)

Keys are ints or strs. ``key_type`` says which; left out, the table decides: an existing
table's key column (integer or text), or, for a table the store creates, the type of the
first key it is given (an int key makes a ``BIGINT`` key column). Once known, a key of the
other type is refused with ``InvalidKey`` saying where the key type came from.

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

Declared types (``cachewright.stores.CheckedStore``): ``check_key`` and ``check_item``
refuse, before anything is written, what ``set``/``delete`` would refuse (``InvalidKey``,
``TypeMismatch``, ``SerializationError``); write-behind and write-through call them at
the caller's ``set``, so nothing is acknowledged that this store cannot keep (G15).
They need no database round trip once the key type is known; before that (no
``key_type``), the first check reads (or creates) the table, and if the database
cannot be reached then, only what holds for any table is checked.

Errors: connection failures raise ``StoreUnavailable``, other database failures
``StoreError``, both with the URL's password redacted. A stored value that no longer
validates raises ``TypeMismatch`` naming its key. The store disposes the engine it
created on ``close()`` (or leaving ``async with``), never one it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cachewright.errors import ConfigurationError
from cachewright.stores._sql_codec import RowCodec
from cachewright.stores._sql_engine import create_engine, display_url
from cachewright.stores._sql_schema import TableSpec
from cachewright.stores._sql_statements import Statements
from cachewright.stores._sql_table import TableAccess, chunks
from cachewright.stores.base import BaseStore

__all__ = ["SQLStore"]

K = TypeVar("K", bound=int | str)
KT = TypeVar("KT", bound=int | str)
V = TypeVar("V")

_SUPPORTED = ("postgresql", "sqlite")


class SQLStore(BaseStore[K, V], TableAccess[K, V], Generic[K, V]):
    """A ``DataStore`` over one table; see the module docstring for usage.

    - ``url_or_engine``: a SQLAlchemy async URL (``sqlite+aiosqlite:///...``,
      ``postgresql+asyncpg://...``) or an ``AsyncEngine`` the caller keeps owning.
    - ``table``, ``schema``: where the rows live.
    - ``type``: what values are (anything ``pydantic.TypeAdapter`` accepts);
      ``key_type``: ``int`` or ``str`` (default: what the table holds; for a table the
      store creates, the type of the first key it is given).
    - ``key_column``, ``value_column``, ``updated_at_column`` (``None``: no timestamp):
      the column names, for a table of your own.
    - ``create``: create the table on first use when it is missing (default ``True``).
    - ``batch_size``: rows or keys per statement (default: the whole batch in one).
    - ``engine_options``: extra ``create_async_engine`` arguments, for a URL only.
    - ``timeout``: seconds a connection, a pool checkout or a statement may take before
      the call fails with ``StoreUnavailable`` (default 5; None: wait forever), for a
      URL only. A silent database then fails calls in time instead of hanging them.
    """

    __slots__ = ("_batch_size", "_owns_engine")  # the table's: TableAccess

    @overload
    def __init__(
        self: SQLStore[KT, V],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: type[V],
        key_type: type[KT],
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
        self: SQLStore[Any, V],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: type[V],
        key_type: None = ...,
        key_column: str = ...,
        value_column: str = ...,
        updated_at_column: str | None = ...,
        schema: str | None = ...,
        create: bool = ...,
        batch_size: int | None = ...,
        engine_options: Mapping[str, Any] | None = ...,
        timeout: float | None = ...,
    ) -> None: ...

    @overload  # a type form that is not a class: list[Profile], ...
    def __init__(
        self: SQLStore[KT, Any],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: Any,
        key_type: type[KT],
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
        self: SQLStore[Any, Any],
        url_or_engine: str | sa.URL | AsyncEngine,
        table: str = ...,
        *,
        type: Any,
        key_type: None = ...,
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
        key_type: type[Any] | None = None,
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
        if key_type not in (int, str, None):
            raise ConfigurationError(f"key_type must be int or str, got {key_type!r}")
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
        self._codec: RowCodec[K, V] = RowCodec(type, key_type=key_type, where=self._where)
        self._create = create
        self._sql: Statements | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"SQLStore({display_url(self._engine.url)!r}, table={self._spec.qualified_name!r}, "
            f"type={self._codec.type_name}, key_type={self._codec.key_type_name})"
        )

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (owned by the store only if it built it from a URL)."""
        return self._engine

    @property
    def table_name(self) -> str:
        """The table, schema-qualified when a schema was given."""
        return self._spec.qualified_name

    @property
    def key_type(self) -> type[int] | type[str] | None:
        """``int`` or ``str``: declared, or read from the table; None until it is known."""
        return self._codec.key_type

    @property
    def value_type(self) -> Any:
        """What values are validated as (the ``type`` given)."""
        return self._codec.type

    async def create_table(self) -> None:
        """Create the table if it does not exist (even with ``create=False``), then check it.

        Optional: the first operation does the same when ``create=True``. Creating a
        table needs its key type: ``key_type``, or ``ConfigurationError`` saying so.
        """
        async with self._lock:
            self._sql = await self._prepare(create=True, hint=None)

    async def check_key(self, key: K) -> None:
        """Raise ``InvalidKey`` unless the table can hold ``key`` (no write, see module doc)."""
        await self._check(key)

    async def check_item(self, key: K, value: V) -> None:
        """Raise ``InvalidKey``, ``TypeMismatch`` or ``SerializationError`` unless
        ``set(key, value)`` can be stored, without writing anything."""
        checked = await self._check(key)
        self._codec.encode(checked, value)

    async def get(self, key: K) -> V | None:
        [key] = await self._keys([key])
        sql = await self._statements()
        with self._errors("get"):
            async with self._engine.connect() as conn:
                row = (await conn.execute(*sql.select_one(key))).first()
        return None if row is None else self._codec.decode(key, row[0])

    async def set(self, key: K, value: V) -> None:
        await self.set_many({key: value})

    async def delete(self, key: K) -> None:
        [key] = await self._keys([key])
        sql = await self._statements()
        with self._errors("delete"):
            async with self._engine.begin() as conn:
                await conn.execute(*sql.delete_one(key))

    async def exists(self, key: K) -> bool:
        [key] = await self._keys([key])
        sql = await self._statements()
        with self._errors("exists"):
            async with self._engine.connect() as conn:
                return (await conn.execute(*sql.exists(key))).first() is not None

    async def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        unique = list(dict.fromkeys(await self._keys(keys)))
        if not unique:
            return {}
        sql = await self._statements()
        with self._errors("get_many"):
            async with self._engine.connect() as conn:
                rows = [
                    row
                    for chunk in chunks(unique, self._batch_size)
                    for row in (await conn.execute(*sql.select_many(chunk))).all()
                ]
        # Decoded after the connection went back to the pool.
        return {key: self._codec.decode(key, text) for key, text in rows}

    async def set_many(self, items: Mapping[K, V]) -> None:
        # Every item is checked before anything is written: a bad one writes nothing.
        keys = await self._keys(items)
        rows = [
            (key, self._codec.encode(key, value))
            for key, value in zip(keys, items.values(), strict=True)
        ]
        if not rows:
            return
        sql = await self._statements()
        with self._errors("set_many"):
            async with self._engine.begin() as conn:
                for chunk in chunks(rows, self._batch_size):
                    await conn.execute(*sql.upsert(chunk))

    async def delete_many(self, keys: Sequence[K]) -> None:
        unique = list(dict.fromkeys(await self._keys(keys)))
        if not unique:
            return
        sql = await self._statements()
        with self._errors("delete_many"):
            async with self._engine.begin() as conn:
                for chunk in chunks(unique, self._batch_size):
                    await conn.execute(*sql.delete_many(chunk))

    async def close(self) -> None:
        """Dispose the engine if the store built it; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_engine:
            await self._engine.dispose()
