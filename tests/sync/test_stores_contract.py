"""The data-store contract for the sync stores: MemoryStore, SQLStore (SQLite and
PostgreSQL), a repository on SQLAlchemy's sync engine, and a BaseStore subclass.

The synchronous twin of ``tests/stores/test_contract.py``'s core cases; the async
side of ``RepositoryStore`` (what the patterns call) is checked at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from cachewright import ConfigurationError
from cachewright.sync.stores import BaseStore, DataStore, MemoryStore, RepositoryStore, SQLStore
from cachewright.sync.stores.sql import async_url
from tests.stores._models import Profile, profile
from tests.sync._support import ProfileRepository


class DictStore(BaseStore[int, Profile]):
    """The smallest BaseStore: three methods, the rest inherited."""

    def __init__(self) -> None:
        self.data: dict[int, Profile] = {}

    def get(self, key: int) -> Profile | None:
        return self.data.get(key)

    def set(self, key: int, value: Profile) -> None:
        self.data[key] = value

    def delete(self, key: int) -> None:
        self.data.pop(key, None)


@pytest.fixture(
    params=["memory", "sql-sqlite", "sql-postgres", "sql-sync-engine", "sql-sync-pg", "base"]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    kind = request.param
    if kind == "memory":
        yield MemoryStore[int, Profile]()
    elif kind.startswith("sql"):
        url: Any
        if kind == "sql-sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
        elif kind == "sql-sync-engine":  # SQLAlchemy's sync engine: its URL, async driver
            url = sa.create_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        elif kind == "sql-sync-pg":
            request.getfixturevalue("pg_url")
            url = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
        else:
            url = request.getfixturevalue("pg_url")
        table = f"sync_{request.node.name[-8:].strip('[]-')}_{id(tmp_path) % 10_000}"
        sql: SQLStore[int, Profile] = SQLStore(url, table, type=Profile, key_type=int)
        with sql:
            yield sql
            sql.delete_many(list(sql.get_many(list(range(100)))))
    else:
        with DictStore() as base:
            yield base


def test_is_a_sync_data_store(store: Any) -> None:
    assert isinstance(store, DataStore)


def test_get_of_a_missing_key_is_none(store: Any) -> None:
    assert store.get(404) is None


def test_set_get_and_idempotent_upsert(store: Any) -> None:
    store.set(1, profile(1))
    store.set(1, profile(1, name="renamed"))
    store.set(1, profile(1, name="renamed"))

    assert store.get(1) == profile(1, name="renamed")


def test_delete_and_deleting_a_missing_key(store: Any) -> None:
    store.set(1, profile(1))
    store.set(2, profile(2))

    store.delete(1)
    store.delete(1)
    store.delete(99)

    assert store.get(1) is None
    assert store.get(2) == profile(2)


def test_batches(store: Any) -> None:
    store.set_many({1: profile(1), 2: profile(2), 3: profile(3)})

    assert store.get_many([1, 3, 404, 1]) == {1: profile(1), 3: profile(3)}
    store.delete_many([1, 2])
    assert store.get_many([1, 2, 3]) == {3: profile(3)}


@pytest.fixture(params=["sync-engine", "base"])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """User repositories: one on SQLAlchemy's sync engine, a BaseStore subclass."""
    if request.param == "base":
        yield DictStore()
        return
    repo = ProfileRepository(f"sqlite:///{tmp_path / 'repo.sqlite3'}")
    yield repo
    repo.close()


def test_repository_store_is_an_async_data_store_over_threads(repository: Any) -> None:
    """What the sync patterns call: the async protocol, each call in a worker thread."""
    adapted: RepositoryStore[int, Profile] = RepositoryStore(repository)

    async def exercise() -> tuple[Any, ...]:
        await adapted.set(1, profile(1))
        await adapted.set_many({2: profile(2), 3: profile(3)})
        await adapted.delete_many([3])
        await adapted.delete(404)
        return (
            await adapted.get(1),
            await adapted.exists(2),
            await adapted.exists(3),
            await adapted.get_many([1, 2, 3]),
        )

    got = asyncio.run(exercise())  # a loop of its own: asyncio.to_thread serves it

    assert got == (profile(1), True, False, {1: profile(1), 2: profile(2)})


def test_a_sync_engine_url_gets_its_async_driver() -> None:
    def shown(url: str) -> str:
        return async_url(sa.create_engine(url)).render_as_string(hide_password=False)

    assert shown("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert shown("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    with pytest.raises(ConfigurationError, match="no async driver"):
        # a dialect without an async driver here (its DBAPI module is not needed)
        async_url(sa.create_engine("mysql+pymysql://h/db", module=SimpleNamespace(paramstyle="x")))


def test_repository_store_uses_batch_methods_when_present() -> None:
    calls: list[str] = []

    class Batched:
        def get(self, key: int) -> int | None:
            calls.append("get")
            return key

        def get_many(self, keys: Sequence[int]) -> Mapping[int, int]:
            calls.append("get_many")
            return {k: k for k in keys}

        def set(self, key: int, value: int) -> None:
            calls.append("set")

        def delete(self, key: int) -> None:
            calls.append("delete")

    adapted: RepositoryStore[int, int] = RepositoryStore(Batched())
    assert asyncio.run(adapted.get_many([1, 2])) == {1: 1, 2: 2}
    asyncio.run(adapted.set_many({1: 1, 2: 2}))
    assert calls == ["get_many", "set", "set"]
