"""Helpers for the SQL store tests: a test database, statement capture, table cleanup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cachewright.stores import SQLStore

__all__ = ["SQLDatabase", "count_rows", "drop_table", "statements"]


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Collect the first word (INSERT, SELECT, ...) of every statement sent to a cursor."""
    seen: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
    ) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def drop_table(engine: AsyncEngine, name: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))


async def count_rows(engine: AsyncEngine, name: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(f'SELECT count(*) FROM "{name}"'))).scalar_one())


class SQLDatabase:
    """One database for a test: an admin engine, and stores on tables named after the test."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.namespace = namespace
        self.admin: AsyncEngine = create_async_engine(url)
        self._stores: list[SQLStore[Any, Any]] = []
        self._tables: list[str] = []

    @property
    def dialect(self) -> str:
        return self.admin.dialect.name

    def table_name(self) -> str:
        """A fresh table name, dropped when the test ends."""
        name = f"{self.namespace}_{len(self._tables)}"
        self._tables.append(name)
        return name

    def store(self, table: str | None = None, **options: Any) -> SQLStore[Any, Any]:
        """An ``SQLStore`` on this database (a fresh table unless ``table`` is given)."""
        made: SQLStore[Any, Any] = SQLStore(
            options.pop("engine", self.url), table or self.table_name(), **options
        )
        self._stores.append(made)
        return made

    async def close(self) -> None:
        for made in self._stores:
            await made.close()
        for name in self._tables:
            await drop_table(self.admin, name)
        await self.admin.dispose()
