"""Fixtures of the sync API tests: a sync ``Cache`` on memory and on a private Redis.

The tests are plain functions: they call the sync API from a thread with no event
loop, as Django, Flask and Celery code does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cachewright import Settings
from cachewright.sync import Cache
from tests._servers import RedisServer
from tests.sync._support import ProfileRepository

SYNC_BACKENDS = ["memory", "redis"]


def make_sync_cache(kind: str, namespace: str, request: pytest.FixtureRequest) -> Cache:
    settings = Settings(namespace=namespace)
    if kind == "memory":
        return Cache.from_url("memory://", settings=settings)
    server: RedisServer = request.getfixturevalue("redis_server")
    if server.process is None or server.process.poll() is not None:
        server.start()
    return Cache.from_url(server.url, settings=settings)


@pytest.fixture(params=SYNC_BACKENDS)
def sync_cache(request: pytest.FixtureRequest, namespace: str) -> Iterator[Cache]:
    cache = make_sync_cache(request.param, namespace, request)
    try:
        yield cache
    finally:
        cache.clear()
        cache.close()


@pytest.fixture(params=["sqlite", "postgres"])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileRepository]:
    """A repository on SQLAlchemy's sync engine: a SQLite file, then the PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'profiles.sqlite3'}"
    else:
        request.getfixturevalue("pg_url")  # skips (fails under CI) when it is not there
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    repo = ProfileRepository(url)
    try:
        yield repo
    finally:
        repo.close()
