"""SQLStore maps onto a table someone else created (its DDL, its column names)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from cachewright.errors import ConfigurationError, InvalidKey
from tests.stores._models import Profile, profile
from tests.stores._sql import SQLDatabase

# How SQL reads the "name" field of the JSON document, per dialect.
NAME_SQL = {"sqlite": "json_extract(doc, '$.name')", "postgresql": "doc::jsonb->>'name'"}


async def execute(db: SQLDatabase, sql: str, params: dict[str, object] | None = None) -> None:
    async with db.admin.begin() as conn:
        await conn.execute(sa.text(sql), params or {})


async def fetch(db: SQLDatabase, sql: str) -> list[tuple[object, ...]]:
    async with db.admin.connect() as conn:
        return [tuple(row) for row in (await conn.execute(sa.text(sql))).all()]


async def check_read_and_write(db: SQLDatabase, value_type: str) -> None:
    table = db.table_name()
    await execute(
        db,
        f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, doc {value_type} NOT NULL, note TEXT)',
    )
    legacy = json.dumps({"id": 7, "name": "written by the old app", "tags": ["x"]})
    await execute(db, f'INSERT INTO "{table}" (id, doc) VALUES (7, :doc)', {"doc": legacy})
    store = db.store(
        table, type=Profile, key_type=int, key_column="id", value_column="doc", create=False
    )

    assert await store.get(7) == Profile(id=7, name="written by the old app", tags=["x"])
    await store.set_many({1: profile(1), 7: profile(7)})
    await store.delete(1)

    assert await store.get_many([1, 7]) == {7: profile(7)}
    rows = await fetch(db, f'SELECT id, {NAME_SQL[db.dialect]} FROM "{table}" ORDER BY id')
    assert rows == [(7, profile(7).name)]  # a JSON document, not a JSON-encoded string


@pytest.mark.parametrize("value_type", ["TEXT", "JSON"])
async def test_read_and_write_an_existing_table(sql_db: SQLDatabase, value_type: str) -> None:
    await check_read_and_write(sql_db, value_type)


async def test_read_and_write_a_jsonb_column(pg_db: SQLDatabase) -> None:
    await check_read_and_write(pg_db, "JSONB")


async def test_an_existing_updated_at_column_is_stamped(sql_db: SQLDatabase) -> None:
    table = sql_db.table_name()
    await execute(
        sql_db,
        f'CREATE TABLE "{table}" (name VARCHAR(50) PRIMARY KEY, body TEXT, changed TIMESTAMP)',
    )
    store = sql_db.store(
        table,
        type=dict[str, int],
        key_column="name",
        value_column="body",
        updated_at_column="changed",
        create=False,
    )

    await store.set("a", {"n": 1})

    assert await store.get("a") == {"n": 1}
    assert (await fetch(sql_db, f'SELECT changed IS NOT NULL FROM "{table}"'))[0][0] in (1, True)


@pytest.mark.parametrize(
    ("ddl", "options", "match"),
    [
        ("id INTEGER PRIMARY KEY, doc TEXT", {"value_column": "missing"}, "no column 'missing'"),
        ("id INTEGER, doc TEXT", {}, "primary key or unique"),
        ("id INTEGER, other INTEGER, doc TEXT, PRIMARY KEY (id, other)", {}, "primary key"),
        ("id TEXT PRIMARY KEY, doc TEXT", {}, "does not hold int keys"),
        ("id INTEGER PRIMARY KEY, doc INTEGER", {}, "text or JSON"),
        ("id INTEGER PRIMARY KEY, doc TEXT, owner TEXT NOT NULL", {}, "owner"),
    ],
)
async def test_a_table_that_cannot_work_is_refused(
    sql_db: SQLDatabase, ddl: str, options: dict[str, str], match: str
) -> None:
    table = sql_db.table_name()
    await execute(sql_db, f'CREATE TABLE "{table}" ({ddl})')
    store = sql_db.store(
        table,
        type=Profile,
        key_type=int,
        **{"key_column": "id", "value_column": "doc", "create": False, **options},
    )

    with pytest.raises(ConfigurationError, match=match):
        await store.get(1)


async def test_a_missing_table_is_refused_without_create(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile, key_type=str, create=False)

    with pytest.raises(ConfigurationError, match="does not exist"):
        await store.get("k")

    await store.create_table()  # an explicit request creates it
    await store.set("k", profile(1))
    assert await store.get("k") == profile(1)


async def test_a_unique_index_is_enough_for_upserts(sql_db: SQLDatabase) -> None:
    table = sql_db.table_name()
    await execute(sql_db, f'CREATE TABLE "{table}" (seq INTEGER, slug TEXT NOT NULL, doc TEXT)')
    await execute(sql_db, f'CREATE UNIQUE INDEX "{table}_slug" ON "{table}" (slug)')
    store = sql_db.store(table, type=int, key_column="slug", value_column="doc", create=False)

    await store.set("a", 1)
    await store.set("a", 2)

    assert await store.get("a") == 2


async def test_the_key_type_is_read_from_the_table_when_not_given(sql_db: SQLDatabase) -> None:
    table = sql_db.table_name()
    await execute(sql_db, f'CREATE TABLE "{table}" (id BIGINT PRIMARY KEY, doc TEXT NOT NULL)')
    store = sql_db.store(table, type=Profile, key_column="id", value_column="doc", create=False)
    assert store.key_type is None

    await store.set(7, profile(7))
    assert store.key_type is int
    with pytest.raises(InvalidKey, match="its key column 'id' is BIGINT"):
        await store.set("7", profile(7))
    assert await store.get_many([7]) == {7: profile(7)}


async def test_an_untyped_sqlite_key_column_takes_the_first_keys_type(
    sqlite_url: str, namespace: str
) -> None:
    db = SQLDatabase(sqlite_url, namespace)  # only SQLite has key columns without a type
    try:
        table = db.table_name()
        await execute(db, f'CREATE TABLE "{table}" (key PRIMARY KEY, value TEXT)')
        store = db.store(table, type=Profile, create=False)

        await store.set("a", profile(1))
        with pytest.raises(InvalidKey, match="an untyped key column, typed by the first key"):
            await store.check_key(1)
    finally:
        await db.close()
