"""How ``SQLStore`` reaches its table: prepared on first use, keys checked against it,
driver errors mapped at the boundary.

Usage (what ``SQLStore`` inherits)::

    class SQLStore(BaseStore[K, V], TableAccess[K, V]): ...
    sql = await self._statements()              # the table resolved (or created) once
    keys = await self._keys([1, 2])             # checked; the key type learned first
    with self._errors("get_many"):              # StoreUnavailable / StoreError, redacted
        ...

The key type, when not declared, is learned from the table, or for a table the store
creates from the first key it is given; until then only what any table could hold is
checked (``_check``: G15, what is not knowable at the call is told by the write).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from cachewright.errors import CachewrightError, StoreError, StoreUnavailable
from cachewright.stores._sql_codec import RowCodec, key_type_of
from cachewright.stores._sql_errors import store_error
from cachewright.stores._sql_schema import TableSpec, resolve_table
from cachewright.stores._sql_statements import Statements

__all__ = ["TableAccess", "chunks"]

K = TypeVar("K", bound=int | str)
V = TypeVar("V")
T = TypeVar("T")


def chunks(items: Sequence[T], size: int | None) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size`` (all at once when ``size`` is None)."""
    step = size or max(len(items), 1)
    for start in range(0, len(items), step):
        yield items[start : start + step]


class TableAccess(Generic[K, V]):
    """The table side of ``SQLStore`` (a mixin: the store sets these attributes)."""

    __slots__ = (
        "_closed",
        "_codec",
        "_create",
        "_engine",
        "_lock",
        "_secret",
        "_spec",
        "_sql",
        "_where",
    )

    _closed: bool
    _codec: RowCodec[K, V]
    _create: bool
    _engine: AsyncEngine
    _lock: asyncio.Lock
    _secret: str | None
    _spec: TableSpec
    _sql: Statements | None
    _where: str

    async def _check(self, key: object) -> K:
        try:
            [checked] = await self._keys([key])
        except StoreUnavailable:
            # The table's key type cannot be known now: what holds for any table was
            # checked; the write itself will tell the rest (G15: not knowable at the call).
            return self._codec.check_key(key)
        return checked

    async def _keys(self, keys: Iterable[object]) -> list[K]:
        """``keys`` checked against the key column, whose type is learned first (from the
        table, or from the first key for a table the store creates) when not declared."""
        listed = list(keys)
        if self._codec.key_type is None and listed:
            for key in listed:
                self._codec.check_key(key)  # an int or a str: what any table could hold
            await self._statements(hint=key_type_of(listed[0]))
        return [self._codec.check_key(key) for key in listed]

    async def _statements(self, hint: type[int] | type[str] | None = None) -> Statements:
        if self._sql is None:
            async with self._lock:
                if self._sql is None:
                    self._sql = await self._prepare(create=self._create, hint=hint)
        return self._sql

    async def _prepare(self, *, create: bool, hint: type[int] | type[str] | None) -> Statements:
        if self._closed:
            raise StoreError(f"{self!r} is closed")
        with self._errors("preparing the table"):
            async with self._engine.begin() as conn:
                found = await conn.run_sync(resolve_table, self._spec, create, hint)
        self._codec.learn(found.key_type, found.origin)
        spec = self._spec
        return Statements(
            found.table,
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
