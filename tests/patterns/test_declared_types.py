"""G15: nothing is acknowledged that cannot be kept (issue 15, item 3).

Against SQLite and the PostgreSQL on 127.0.0.1, with the cache on memory and on a
private Redis (whose durable queue is then WriteBehind's default): a store's declared
key and value types are checked at the caller's ``set``; a refused write raises a typed
error there and never reaches the queue or the dead letters. ``SQLStore`` learns its key
type from an existing table, or from the first key for a table it creates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from cachewright import Cache, ConfigurationError, InvalidKey, TypeMismatch
from cachewright.patterns.write_behind.pattern import WriteBehind
from cachewright.patterns.write_through import WriteThrough
from cachewright.stores import CheckedStore, MemoryStore, SQLStore
from tests.patterns._write_support import Item, cache_for, cache_url
from tests.stores._sql import drop_table


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    return url


@pytest.fixture(params=["memory", "redis"])
def any_cache_url(request: pytest.FixtureRequest) -> str:
    return cache_url(request.param, request)


@pytest.fixture
async def cache(any_cache_url: str, namespace: str) -> AsyncIterator[Cache]:
    async with cache_for(any_cache_url, namespace) as instance:
        yield instance


@pytest.fixture
async def table(db_url: str, namespace: str) -> AsyncIterator[str]:
    """A table name for the test; dropped afterwards, whoever created it."""
    yield namespace
    engine = SQLStore(db_url, namespace, type=Item, key_type=int).engine
    try:
        await drop_table(engine, namespace)
    finally:
        await engine.dispose()


async def test_the_issues_store_takes_int_keys_without_key_type(db_url: str, table: str) -> None:
    async with SQLStore(db_url, table=table, type=Item) as store:
        assert store.key_type is None
        await store.set(1, Item(name="a"))
        assert store.key_type is int
        assert await store.get(1) == Item(name="a")
        with pytest.raises(InvalidKey) as caught:
            await store.set("2", Item(name="b"))
    message = str(caught.value)
    assert "keeps int keys" in message
    assert "typed by the first key used; key_type= chooses" in message
    assert "key_type=str" in message


async def test_an_existing_tables_key_type_is_read_from_it(db_url: str, table: str) -> None:
    async with SQLStore(db_url, table, type=Item, key_type=str) as creator:
        await creator.set("a", Item(name="a"))
    async with SQLStore(db_url, table, type=Item) as store:
        assert await store.get("a") == Item(name="a")
        assert store.key_type is str
        with pytest.raises(InvalidKey, match="its key column 'key' is TEXT"):
            await store.check_key(1)
    async with SQLStore(db_url, table, type=Item, key_type=int) as wrong:
        with pytest.raises(ConfigurationError, match="pass key_type=str"):
            await wrong.get(1)


async def test_creating_a_table_without_any_key_says_how_to_fix_it(db_url: str, table: str) -> None:
    async with SQLStore(db_url, table, type=Item) as store:
        with pytest.raises(ConfigurationError, match="pass key_type=int or key_type=str"):
            await store.create_table()


async def test_write_behind_refuses_at_set_what_the_store_cannot_keep(
    cache: Cache, db_url: str, table: str
) -> None:
    store: SQLStore[int, Item] = SQLStore(db_url, table, type=Item, key_type=int)
    assert isinstance(store, CheckedStore)
    items: WriteBehind[Any, Any] = WriteBehind(
        cache, store, key="item:{}", type=Item, flusher=False
    )
    async with store, items:
        with pytest.raises(InvalidKey, match="keeps int keys"):
            await items.set("1", Item(name="str key"))
        with pytest.raises(TypeMismatch, match="key 2"):
            await items.set(2, {"name": 2, "n": "not a number"})
        with pytest.raises(InvalidKey):
            await items.delete(2**63)  # does not fit a BIGINT
        with pytest.raises(InvalidKey):
            await items.set_many({3: Item(name="fine"), 4.5: Item(name="float key")})
        # Nothing was queued or cached for any of them, not even the good item 3.
        stats = await items.stats()
        assert (stats.pending, stats.dead_letters) == (0, 0)
        assert await cache.get("item:2") is None
        assert await cache.get("item:3") is None

        await items.set(5, Item(name="kept"))
        report = await items.flush()
        assert (report.written, report.dead_lettered) == (1, 0)
        assert await items.dead_letters() == []
        assert await store.get(5) == Item(name="kept")


async def test_write_behind_over_the_issues_store_writes_int_keys(
    cache: Cache, db_url: str, table: str
) -> None:
    store = SQLStore(db_url, table=table, type=Item)  # no key_type, a table to create
    items: WriteBehind[Any, Any] = WriteBehind(
        cache, store, key="item:{}", type=Item, flusher=False
    )
    async with store, items:
        await items.set(1, Item(name="a"))
        with pytest.raises(InvalidKey):
            await items.set("b", Item(name="b"))
        report = await items.flush()
        assert (report.written, report.dead_lettered) == (1, 0)
        assert await store.get(1) == Item(name="a")


async def test_write_through_refuses_before_touching_store_or_cache(
    cache: Cache, db_url: str, table: str
) -> None:
    store: SQLStore[int, Item] = SQLStore(db_url, table, type=Item, key_type=int)
    items: WriteThrough[Any, Any] = WriteThrough(cache, store, key="item:{}", type=Item)
    async with store:
        await items.set(1, Item(name="v1"))
        with pytest.raises(TypeMismatch):
            await items.set(1, "not an item")
        with pytest.raises(InvalidKey):
            await items.delete("1")
        assert await store.get(1) == Item(name="v1")
        assert await cache.get("item:1", Item) == Item(name="v1")
        assert (await items.stats()).store_errors == 0  # refused before the store call


async def test_an_unreachable_database_checks_what_holds_for_any_table(
    cache: Cache, namespace: str
) -> None:
    # Nothing listens on port 1: the table's key type cannot be learned now. Write-behind
    # still accepts what any table could hold (the store is down: that is its job), and
    # refuses what no table could.
    down = SQLStore(
        "postgresql+asyncpg://postgres@127.0.0.1:1/test", namespace, type=Item, timeout=2
    )
    items: WriteBehind[Any, Any] = WriteBehind(cache, down, key="item:{}", type=Item, flusher=False)
    async with down:
        await items.set(1, Item(name="queued"))
        with pytest.raises(InvalidKey):
            await items.set(1.5, Item(name="no table holds float keys"))
        with pytest.raises(TypeMismatch):
            await items.set(2, "not an item")
        assert (await items.stats()).pending == 1
        await items.queue.close()


async def test_a_store_without_declared_types_is_not_checked(cache: Cache) -> None:
    store = MemoryStore[Any, Item]()
    assert not isinstance(store, CheckedStore)
    items: WriteBehind[Any, Any] = WriteBehind(
        cache, store, key="item:{}", type=Item, flusher=False
    )
    async with items:
        await items.set("any key", Item(name="x"))
        await items.flush()
    assert await store.get("any key") == Item(name="x")


async def test_sql_table_created_for_int_keys_is_bigint(db_url: str, table: str) -> None:
    async with SQLStore(db_url, table, type=Item) as store:
        await store.set(7, Item(name="seven"))
        async with store.engine.connect() as conn:
            columns = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns(table))
    key = next(column for column in columns if column["name"] == "key")
    assert isinstance(key["type"], sa.Integer)
