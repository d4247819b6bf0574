"""SQLStore specifics: the table it creates, lazy creation, WAL, repr."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from cachewright.stores import SQLStore
from tests.stores._models import Profile, profile
from tests.stores._sql import SQLDatabase, statements


async def test_the_created_table_holds_json_text_and_a_timestamp(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile, key_type=int)
    await store.set(1, profile(1))

    async with sql_db.admin.connect() as conn:
        columns = await conn.run_sync(
            lambda sync: [c["name"] for c in sa.inspect(sync).get_columns(store.table_name)]
        )
        row = (
            await conn.execute(sa.text(f'SELECT value, updated_at FROM "{store.table_name}"'))
        ).one()

    assert columns == ["key", "value", "updated_at"]
    assert Profile.model_validate_json(row[0]) == profile(1)
    assert row[1] is not None


async def test_concurrent_first_calls_create_the_table_once(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=int)

    with statements(store.engine) as sent:
        await asyncio.gather(*(store.set(f"k{n}", n) for n in range(10)))
    await store.create_table()  # explicit and idempotent

    assert sent.count("CREATE") == 1
    assert sent.count("INSERT") == 10
    assert await store.get_many([f"k{n}" for n in range(10)]) == {f"k{n}": n for n in range(10)}


async def test_sqlite_files_use_wal(sqlite_url: str) -> None:
    async with SQLStore(sqlite_url, type=int) as store:
        await store.set("k", 1)
        async with store.engine.connect() as conn:
            mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar_one()

    assert mode == "wal"


def test_repr_names_the_table_and_type_without_the_password() -> None:
    store: SQLStore[int, Profile] = SQLStore(
        "postgresql+asyncpg://app:pw-123@127.0.0.1:5432/test", "people", type=Profile, key_type=int
    )

    assert repr(store) == (
        "SQLStore('postgresql+asyncpg://app:***@127.0.0.1:5432/test', table='people', "
        "type=Profile, key_type=int)"
    )
