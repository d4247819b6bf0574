"""Fixtures of the fault tests: a private PostgreSQL per module that may be stopped,
and for the failover tests a fresh replicated Cluster or Sentinel group per test, a
PostgreSQL table, and the collection of the clients redis-py leaks at a failover."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa

from cachewright.stores import SQLStore
from tests._sentinel import SentinelGroup
from tests._servers import need, redis_binary
from tests._topology import ReplicatedCluster
from tests.faults._pg import PrivatePostgres, postgres_binaries


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the module's own (initdb + pg_ctl), which tests stop and start."""
    if postgres_binaries() is None:
        need("PostgreSQL binaries (initdb, pg_ctl) not found")
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.cleanup()


def fresh_cluster(*, full_coverage: bool = True) -> Iterator[ReplicatedCluster]:
    """A replicated cluster started for one test (the failover tests kill its nodes)."""
    if redis_binary() is None:
        need("redis-server binary not found")
    with ReplicatedCluster(full_coverage=full_coverage).start() as cluster:
        yield cluster


@pytest.fixture
def cluster() -> Iterator[ReplicatedCluster]:
    """A fresh replicated cluster, full coverage required (the default); a module may
    override it (``test_replica_reads`` shares one per module: it kills nothing)."""
    yield from fresh_cluster()


@pytest.fixture
def group() -> Iterator[SentinelGroup]:
    """A fresh Sentinel group (the tests kill its primary); overridable as ``cluster``."""
    if redis_binary() is None:
        need("redis-server binary not found")
    with SentinelGroup().start() as group:
        yield group


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[SQLStore[int, int]]:
    """An ``int -> int`` store on a table of its own in the shared PostgreSQL."""
    table = f"cw_failover_{uuid.uuid4().hex[:10]}"
    store = SQLStore(pg_url, table, type=int, key_type=int)
    await store.create_table()
    try:
        yield store
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        await store.close()


@pytest.fixture
def collect_leaked_clients() -> Iterator[None]:
    """Collect garbage at the end of the test (see ``LEAKED_CLIENTS``)."""
    yield
    gc.collect()
