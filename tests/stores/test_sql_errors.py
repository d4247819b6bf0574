"""SQLStore refuses bad input before touching the database, and maps failures to StoreError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from cachewright.errors import (
    ConfigurationError,
    InvalidKey,
    SerializationError,
    StoreError,
    StoreUnavailable,
    TypeMismatch,
)
from cachewright.stores import SQLStore
from tests.stores._models import Profile, profile
from tests.stores._sql import SQLDatabase, count_rows, statements

FAKE_PASSWORD = "s3cr3t-Pa55w0rd"


async def test_one_bad_value_writes_nothing_of_the_batch(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile, key_type=int)
    await store.set(1, profile(1))
    batch: dict[int, Any] = {1: profile(1, name="new"), 2: profile(2), 3: {"id": 3}, 4: profile(4)}

    with statements(store.engine) as sent, pytest.raises(TypeMismatch, match="key 3"):
        await store.set_many(batch)

    assert sent == []  # refused before any statement
    assert await store.get_many([1, 2, 3, 4]) == {1: profile(1)}


async def test_an_unserializable_value_is_a_serialization_error(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=dict[str, Any], key_type=str)
    await store.create_table()

    with pytest.raises(SerializationError, match="'bad'") as caught:
        await store.set_many({"good": {"n": 1}, "bad": {"n": object()}})

    assert not isinstance(caught.value, TypeMismatch)
    assert await count_rows(sql_db.admin, store.table_name) == 0


async def test_values_are_checked_strictly_not_coerced(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=int)

    with pytest.raises(TypeMismatch):
        await store.set("k", "12")
    with pytest.raises(TypeMismatch):
        await store.set("k", 1.5)
    assert await store.get("k") is None


@pytest.mark.parametrize("key", ["1", True, 1.0, None, 2**63, -(2**63) - 1])
async def test_an_int_keyed_store_refuses_other_keys(sql_db: SQLDatabase, key: Any) -> None:
    store = sql_db.store(type=Profile, key_type=int)

    with pytest.raises(InvalidKey):
        await store.set_many({7: profile(7), key: profile(2)})
    for call in (store.get, store.exists, store.delete):
        with pytest.raises(InvalidKey):
            await call(key)
    with pytest.raises(InvalidKey):
        await store.get_many([7, key])
    with pytest.raises(InvalidKey):
        await store.delete_many([key])
    assert await store.get(7) is None


@pytest.mark.parametrize("key", [1, b"bytes", ("a",), "nul\x00inside", "lone \ud800"])
async def test_a_str_keyed_store_refuses_other_keys(sql_db: SQLDatabase, key: Any) -> None:
    store = sql_db.store(type=Profile)  # no key_type: the first key, "ok", makes it str

    with pytest.raises(InvalidKey):
        await store.set_many({"ok": profile(1), key: profile(2)})
    with pytest.raises(InvalidKey):
        await store.get(key)
    assert await store.get("ok") is None


async def test_a_stored_value_that_no_longer_validates_names_its_key(
    sql_db: SQLDatabase,
) -> None:
    store = sql_db.store(type=Profile, key_type=int)
    await store.set_many({1: profile(1), 2: profile(2)})
    async with sql_db.admin.begin() as conn:
        await conn.execute(
            sa.text(f'UPDATE "{store.table_name}" SET value = :v WHERE key = 2'),
            {"v": '{"id": "not a number"}'},
        )

    with pytest.raises(TypeMismatch, match="key 2"):
        await store.get(2)
    with pytest.raises(TypeMismatch, match="key 2"):
        await store.get_many([1, 2])
    assert await store.get(1) == profile(1)


async def test_sqlite_in_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.sqlite3'}"
    async with SQLStore(url, type=Profile) as store:
        with pytest.raises(StoreUnavailable, match="unable to open database file"):
            await store.set("k", profile(1))
        with pytest.raises(StoreUnavailable):
            await store.get("k")


async def test_an_unreachable_server_is_unavailable_and_redacted() -> None:
    url = f"postgresql+asyncpg://app:{FAKE_PASSWORD}@127.0.0.1:1/test"
    store: SQLStore[str, Profile] = SQLStore(url, type=Profile)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.get("k")
        with pytest.raises(StoreUnavailable):
            await store.set("k", profile(1))
    finally:
        await store.close()

    message = str(caught.value)
    assert FAKE_PASSWORD not in message
    assert "127.0.0.1:1" in message
    assert "app:***@" in message
    assert FAKE_PASSWORD not in repr(store)
    assert isinstance(caught.value.__cause__, BaseException)  # the driver error is chained


def test_a_malformed_url_is_a_configuration_error_without_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        SQLStore(f"postgresql+asyncpg://app:{FAKE_PASSWORD}@host:notaport/db", type=Profile)

    assert FAKE_PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None  # SQLAlchemy's message would repeat the URL


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"type": Profile, "key_type": float}, "key_type"),
        ({"type": Profile, "batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options_are_configuration_errors(
    options: dict[str, Any], match: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        SQLStore(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", **options)


async def test_a_closed_store_refuses_calls_and_close_is_idempotent(sql_db: SQLDatabase) -> None:
    store = sql_db.store(type=Profile)
    await store.set("k", profile(1))

    await store.close()
    await store.close()

    with pytest.raises(StoreError, match="closed"):
        await store.get("k")


async def test_a_store_never_disposes_an_engine_it_was_given(sql_db: SQLDatabase) -> None:
    async with SQLStore(sql_db.admin, sql_db.table_name(), type=Profile) as store:
        await store.set("k", profile(1))
    assert "engine" not in repr(store)

    async with sql_db.admin.connect() as conn:  # the engine still works
        assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1


async def test_a_connection_killed_mid_batch_leaves_nothing_and_is_unavailable(
    pg_db: SQLDatabase,
) -> None:
    """Real fault: the store's backend is terminated between two INSERTs of one batch."""
    store = pg_db.store(type=Profile, key_type=int, batch_size=100)
    await store.set(0, profile(0))
    inserts: list[str] = []

    def kill_before_second_insert(
        conn: sa.Connection, cursor: Any, statement: str, *args: Any
    ) -> None:
        if not statement.startswith("INSERT"):
            return
        inserts.append(statement)
        if len(inserts) != 2:
            return
        # Runs in SQLAlchemy's greenlet: sync calls on async engines are allowed here.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        probe = raw.cursor()
        probe.execute("SELECT pg_backend_pid()")
        row = probe.fetchone()
        probe.close()
        assert row is not None
        pid = row[0]
        with pg_db.admin.sync_engine.connect() as admin:
            killed = admin.execute(
                sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}
            ).scalar_one()
        assert killed is True

    event.listen(store.engine.sync_engine, "before_cursor_execute", kill_before_second_insert)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.set_many({n: profile(n, name="batch") for n in range(250)})
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", kill_before_second_insert)

    assert len(inserts) == 2  # the first chunk was sent before the kill
    assert "set_many" in str(caught.value)
    assert await count_rows(pg_db.admin, store.table_name) == 1
    assert await store.get(0) == profile(0)  # the old row, not the batch's

    await store.set(1, profile(1))  # the pool replaced the dead connection
    assert await store.get(1) == profile(1)
