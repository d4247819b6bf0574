"""SQLStore batches cost one statement each, in one transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.stores._models import Profile, profile
from tests.stores._sql import SQLDatabase, count_rows, statements


async def test_set_many_of_1000_items_is_one_insert(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile, key_type=int)
    await store.create_table()
    items = {n: profile(n) for n in range(1_000)}

    with statements(store.engine) as sent:
        await store.set_many(items)

    assert sent == ["INSERT"]
    assert await count_rows(sql_db.admin, store.table_name) == 1_000


async def test_set_many_over_existing_rows_is_still_one_insert(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile, key_type=int)
    await store.set_many({n: profile(n) for n in range(500)})

    with statements(store.engine) as sent:
        await store.set_many({n: profile(n, name="updated") for n in range(1_000)})

    assert sent == ["INSERT"]
    assert (await store.get_many([0, 999])) == {
        0: profile(0, name="updated"),
        999: profile(999, name="updated"),
    }


async def test_get_many_is_one_select_and_delete_many_one_delete(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile, key_type=int)
    await store.set_many({n: profile(n) for n in range(1_000)})

    with statements(store.engine) as sent:
        hits = await store.get_many(list(range(1_000)))
    assert sent == ["SELECT"]
    assert len(hits) == 1_000

    with statements(store.engine) as sent:
        await store.delete_many(list(range(1_000)))
    assert sent == ["DELETE"]
    assert await count_rows(sql_db.admin, store.table_name) == 0


async def test_batch_size_splits_statements_inside_one_transaction(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile, key_type=int, batch_size=100)
    await store.create_table()
    commits: list[object] = []

    def on_commit(conn: Any) -> None:
        commits.append(conn)

    event.listen(store.engine.sync_engine, "commit", on_commit)
    try:
        with statements(store.engine) as sent:
            await store.set_many({n: profile(n) for n in range(250)})
    finally:
        event.remove(store.engine.sync_engine, "commit", on_commit)

    assert sent == ["INSERT", "INSERT", "INSERT"]
    assert len(commits) == 1
    assert len(await store.get_many(list(range(250)))) == 250


async def test_a_batch_past_the_bound_parameter_limits_is_still_one_statement(
    sql_db: SQLDatabase,
) -> None:
    # 40,000 rows: one parameter per key alone would pass asyncpg's 32,767 and SQLite's 32,766.
    store = sql_db.store(type=int, key_type=int)
    await store.create_table()
    items = {n: n * n for n in range(40_000)}

    with statements(store.engine) as sent:
        await store.set_many(items)
        assert await store.get_many(list(items)) == items
        await store.delete_many(list(items)[::2])

    assert sent == ["INSERT", "SELECT", "DELETE"]
    assert await count_rows(sql_db.admin, store.table_name) == 20_000


async def test_values_with_quotes_backslashes_and_nul_survive_the_batch_encoding(
    sql_db: SQLDatabase,
) -> None:
    store = sql_db.store(type=dict[str, str])
    tricky = {"q": '"quoted" \\ back\\slash', "nul": "a\x00b", "uni": "ü🎉\u2028", "[": "]"}
    keys = ['"', "\\", "🎉", "[1]", "$[0]", "null", "1"]

    await store.set_many(dict.fromkeys(keys, tricky))

    assert await store.get_many(keys) == dict.fromkeys(keys, tricky)
