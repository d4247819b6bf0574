"""Flush failures by kind, against real databases (issue 14.7, G11).

A table with a CHECK constraint that refuses the value -1, and a trigger that counts
every committed write per key in a second table: a permanent rejection is isolated in
one flush round with no retry, the good rows are committed exactly once, and the bad
one is dead-lettered with the database's error. A lock held by another connection is
transient: retried until it is released, nothing dead-lettered. The classification is
the caller's to override.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from tenacity import stop_after_attempt, wait_fixed, wait_none

from cachewright import Cache, Failure, RetryPolicy, WriteBehind, classify_failure
from cachewright.errors import StoreUnavailable
from cachewright.stores import SQLStore
from tests._servers import wait_until_async
from tests.patterns._write_support import store_url

pytestmark = pytest.mark.postgres

POISON = -1


class Table:
    """A ``rows`` table refusing the value -1, and ``writes``: committed writes per key."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"cw_fail_{uuid.uuid4().hex[:10]}"
        self.engine = create_async_engine(url)
        self.postgres = url.startswith("postgresql")

    async def create(self) -> None:
        t = self.name
        ddl = [
            f"CREATE TABLE {t} (key BIGINT PRIMARY KEY,"
            f" value TEXT NOT NULL CONSTRAINT {t}_no_poison CHECK (value <> '{POISON}'))",
            f"CREATE TABLE {t}_writes (key BIGINT PRIMARY KEY, n INTEGER NOT NULL)",
        ]
        count = (
            f"INSERT INTO {t}_writes (key, n) VALUES (NEW.key, 1)"
            f" ON CONFLICT (key) DO UPDATE SET n = {t}_writes.n + 1"
        )
        if self.postgres:
            ddl += [
                f"CREATE FUNCTION {t}_count() RETURNS trigger LANGUAGE plpgsql"
                f" AS $$ BEGIN {count}; RETURN NEW; END $$",
                f"CREATE TRIGGER {t}_count AFTER INSERT OR UPDATE ON {t}"
                f" FOR EACH ROW EXECUTE FUNCTION {t}_count()",
            ]
        else:
            ddl += [
                f"CREATE TRIGGER {t}_{event} AFTER {event} ON {t} BEGIN {count}; END"
                for event in ("INSERT", "UPDATE")
            ]
        async with self.engine.begin() as conn:
            for statement in ddl:
                await conn.execute(sa.text(statement))

    async def drop(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.text(f"DROP TABLE IF EXISTS {self.name}"))
            await conn.execute(sa.text(f"DROP TABLE IF EXISTS {self.name}_writes"))
            if self.postgres:
                await conn.execute(sa.text(f"DROP FUNCTION IF EXISTS {self.name}_count()"))
        await self.engine.dispose()

    async def writes(self) -> dict[int, int]:
        """Committed writes per key, counted by the trigger."""
        async with self.engine.connect() as conn:
            found = await conn.execute(sa.text(f"SELECT key, n FROM {self.name}_writes"))
            return {int(key): int(n) for key, n in found.all()}

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Another connection holds the table's write lock until the block ends."""
        if self.postgres:
            conn = await asyncpg.connect(self.url.replace("+asyncpg", ""))
            try:
                async with conn.transaction():
                    await conn.execute(f"LOCK TABLE {self.name} IN ACCESS EXCLUSIVE MODE")
                    yield
            finally:
                await conn.close()
        else:
            path = sa.make_url(self.url).database
            assert path is not None
            async with aiosqlite.connect(path) as db:
                await db.execute("BEGIN IMMEDIATE")
                try:
                    yield
                finally:
                    await db.rollback()

    def store(self) -> SQLStore[int, int]:
        # A short lock wait, so a held lock fails a write (and is retried) quickly.
        options: dict[str, Any] = (
            {"connect_args": {"server_settings": {"lock_timeout": "100"}}}
            if self.postgres
            else {"connect_args": {"timeout": 0.1}}
        )
        return SQLStore(
            self.url,
            self.name,
            type=int,
            key_type=int,
            create=False,
            updated_at_column=None,
            engine_options=options,
        )


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    url = store_url(request.param, request)
    assert url is not None
    return url


@pytest.fixture
async def table(db_url: str) -> AsyncIterator[Table]:
    created = Table(db_url)
    await created.create()
    try:
        yield created
    finally:
        await created.drop()


@pytest.fixture
async def cache() -> AsyncIterator[Cache]:
    async with Cache.from_url("memory://") as opened:
        yield opened


def wants(keys: range) -> dict[int, int]:
    """Values for ``keys``; key 7 gets the one the table refuses."""
    return {key: POISON if key == 7 else key * 10 for key in keys}


async def test_a_permanent_rejection_is_isolated_in_one_round_and_good_rows_written_once(
    cache: Cache, table: Table
) -> None:
    store = table.store()
    # Retries would be slow and counted: a permanent error must not use them.
    slow = RetryPolicy(stop=stop_after_attempt(5), wait=wait_fixed(1.0))
    async with WriteBehind(
        cache, store, key="n:{}", type=int, key_type=int, flusher=False, retry=slow
    ) as numbers:
        await numbers.set_many(wants(range(16)))
        report = await numbers.flush()
        assert (report.written, report.dead_lettered, report.released) == (15, 1, 0)
        stats = await numbers.stats()
        assert (stats.retries, stats.pending, stats.dead_letters) == (0, 0, 1)
        [failed] = await numbers.dead_letters()
        assert (failed.key, failed.value) == (7, POISON)
        assert f"{table.name}_no_poison" in failed.error, failed.error
    assert await table.writes() == {key: 1 for key in range(16) if key != 7}
    assert await store.get_many(list(range(16))) == {
        key: value for key, value in wants(range(16)).items() if key != 7
    }
    await store.close()


async def test_the_background_flusher_dead_letters_the_poison_item_in_its_first_round(
    cache: Cache, table: Table
) -> None:
    store = table.store()
    async with WriteBehind(cache, store, key="n:{}", type=int, key_type=int) as numbers:
        await numbers.set_many(wants(range(40)))

        async def settled() -> tuple[int, int]:
            stats = await numbers.stats()
            return stats.pending, stats.dead_letters

        await wait_until_async(settled, expect=(0, 1))
        stats = await numbers.stats()
        assert (stats.flushed, stats.dead_lettered, stats.retries) == (39, 1, 0)
    assert await table.writes() == {key: 1 for key in range(40) if key != 7}
    await store.close()


async def test_a_lock_held_elsewhere_is_transient_retried_then_written(
    cache: Cache, table: Table
) -> None:
    store = table.store()
    patient = RetryPolicy(stop=stop_after_attempt(1000), wait=wait_fixed(0.02))
    async with WriteBehind(
        cache, store, key="n:{}", type=int, key_type=int, flusher=False, retry=patient
    ) as numbers:
        values = {key: key * 10 for key in range(8)}
        await numbers.set_many(values)
        async with table.locked():
            flushing = asyncio.create_task(numbers.flush())

            async def retried() -> bool:
                return (await numbers.stats()).retries >= 1

            await wait_until_async(retried)
        report = await flushing
        assert (report.written, report.dead_lettered, report.released) == (8, 0, 0)
    assert await table.writes() == dict.fromkeys(range(8), 1)
    assert await store.get_many(list(values)) == values
    await store.close()


async def test_the_classification_is_the_callers_to_override(cache: Cache, table: Table) -> None:
    """A caller who treats this constraint as an outage (fixed by a migration, say):
    nothing is dead-lettered, the batch waits in the queue."""

    def constraint_means_down(exc: BaseException) -> Failure:
        if f"{table.name}_no_poison" in str(exc):
            return Failure.DOWN
        return classify_failure(exc)

    store = table.store()
    once = RetryPolicy(stop=stop_after_attempt(2), wait=wait_none())
    async with WriteBehind(
        cache,
        store,
        key="n:{}",
        type=int,
        key_type=int,
        flusher=False,
        retry=once,
        classify=constraint_means_down,
        close_timeout=0.5,
    ) as numbers:
        await numbers.set_many(wants(range(8)))
        with pytest.raises(StoreUnavailable):
            await numbers.flush()
        stats = await numbers.stats()
        assert (stats.pending, stats.dead_letters, stats.released, stats.retries) == (8, 0, 8, 1)
    assert await table.writes() == {}
    await store.close()


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (StoreUnavailable("down"), Failure.DOWN),
        (TimeoutError(), Failure.DOWN),
        (ValueError("bad"), Failure.PERMANENT),
        (RuntimeError("who knows"), Failure.TRANSIENT),
    ],
)
def test_the_default_classification_of_plain_errors(error: BaseException, kind: Failure) -> None:
    assert classify_failure(error) is kind
