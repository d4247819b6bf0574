"""Session fixtures: private Redis servers, a private cluster, PostgreSQL and SQLite URLs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._servers import RedisCluster, RedisServer, need, redis_binary, server_version

PG_URL = os.environ.get(
    "CACHEWRIGHT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def pytest_report_header() -> str:
    """Say which server binary the private servers run (CI runs the suites on several)."""
    binary = redis_binary()
    if binary is None:
        return "redis server: none found"
    return f"redis server: {binary} ({server_version(binary)})"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the whole session (no persistence)."""
    if redis_binary() is None:
        need("redis-server binary not found")
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A private three-primary Redis Cluster for the whole session."""
    if redis_binary() is None:
        need("redis-server binary not found")
    cluster = RedisCluster().start()
    try:
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
def fresh_redis() -> Iterator[RedisServer]:
    """A private redis-server for one test, which the test may kill and restart."""
    if redis_binary() is None:
        need("redis-server binary not found")
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def namespace() -> str:
    """A namespace unique to the test, so tests sharing a server never collide."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL on 127.0.0.1:5432 (database ``test``), checked once."""
    import asyncio

    try:
        import asyncpg
    except ImportError:  # pragma: no cover - the sql extra is part of the test install
        need("asyncpg not installed")
        raise

    async def probe() -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        need(f"PostgreSQL on 127.0.0.1:5432 not reachable: {exc}")
    return PG_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
