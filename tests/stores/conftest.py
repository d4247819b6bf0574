"""Store fixtures: ``store`` (every store, for the contract suite) and SQL databases.

``store`` is parametrized over MemoryStore, SQLStore on a SQLite file, SQLStore on
PostgreSQL (a table unique to the test, dropped afterwards) and a FunctionStore over a
dict-backed repository. ``sql_db`` gives SQL-only tests a database (SQLite and
PostgreSQL) that builds stores on unique tables and cleans them up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cachewright.stores import DataStore, MemoryStore, SQLStore, store_from_functions
from tests.stores._models import DictRepository, Profile
from tests.stores._sql import SQLDatabase, drop_table

ContractStore = DataStore[str, Profile | None]


@pytest.fixture(params=["memory", "sqlite", "postgres", "functions"])
def store_target(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """Which store to build, and its URL. Sync, so that ``pg_url`` can probe the server."""
    kind: str = request.param
    if kind == "postgres":
        return kind, request.getfixturevalue("pg_url")
    if kind == "sqlite":
        return kind, request.getfixturevalue("sqlite_url")
    return kind, None


@pytest.fixture
async def store(
    store_target: tuple[str, str | None], namespace: str
) -> AsyncIterator[ContractStore]:
    kind, url = store_target
    if kind == "memory":
        yield MemoryStore[str, Profile | None]()
        return
    if kind == "functions":
        repo = DictRepository()
        yield store_from_functions(
            get=repo.find, set=repo.save, delete=repo.remove, exists=repo.has
        )
        return
    assert url is not None
    sql: SQLStore[str, Profile | None] = SQLStore(url, namespace, type=Profile | None)
    try:
        yield sql
    finally:
        await drop_table(sql.engine, namespace)
        await sql.close()


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest) -> str:
    fixture = "pg_url" if request.param == "postgres" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def sql_db(sql_url: str, namespace: str) -> AsyncIterator[SQLDatabase]:
    db = SQLDatabase(sql_url, namespace)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def pg_db(pg_url: str, namespace: str) -> AsyncIterator[SQLDatabase]:
    db = SQLDatabase(pg_url, namespace)
    try:
        yield db
    finally:
        await db.close()
