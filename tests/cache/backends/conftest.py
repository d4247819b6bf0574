"""A ``backend`` fixture over every Backend: memory, a private Redis, a private Cluster.

The contract suite (``test_contract.py``) only asks for ``backend`` and ``names``;
Redis-only tests ask for ``redis_backend`` (standalone and cluster).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from cachewright.cache.backends.base import Backend
from cachewright.cache.backends.memory import MemoryBackend
from cachewright.cache.backends.redis import RedisBackend
from cachewright.settings import Settings
from tests._servers import RedisCluster

# A cluster node's bus listens on port + 10000, so node ports must stay below 55536.


@dataclass(frozen=True)
class Names:
    """Physical names under the test's namespace, shaped as the cache layer makes them."""

    namespace: str

    def key(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    def keys(self, count: int, stem: str = "k") -> list[str]:
        return [self.key(f"{stem}{i}") for i in range(count)]

    def tag(self, name: str) -> str:
        return f"{self.namespace}~tag:{name}"


@pytest.fixture
def names(namespace: str) -> Names:
    return Names(namespace)


def _settings() -> Settings:
    return Settings(connect_timeout=1.0, read_timeout=1.0)


async def _open(kind: str, request: pytest.FixtureRequest) -> Backend:
    if kind == "memory":
        return MemoryBackend(max_entries=10_000)
    if kind == "redis":
        url: str = request.getfixturevalue("redis_url")
        return RedisBackend.from_url(url, settings=_settings())
    cluster: RedisCluster = request.getfixturevalue("redis_cluster")
    return RedisBackend.from_url(cluster.url, settings=_settings())


@pytest.fixture(params=["memory", "redis", "cluster"])
async def backend(request: pytest.FixtureRequest, names: Names) -> AsyncIterator[Backend]:
    instance = await _open(request.param, request)
    try:
        yield instance
    finally:
        await instance.close()
        await _clean(request.param, request, names)


async def _clean(kind: str, request: pytest.FixtureRequest, names: Names) -> None:
    # A fresh backend: the test may have closed its own.
    cleaner = await _open(kind, request)
    try:
        await cleaner.delete_pattern(f"{names.namespace}*")
    finally:
        await cleaner.close()


@pytest.fixture(params=["redis", "cluster"])
async def redis_backend(
    request: pytest.FixtureRequest, names: Names
) -> AsyncIterator[RedisBackend]:
    instance = await _open(request.param, request)
    assert isinstance(instance, RedisBackend)
    try:
        yield instance
    finally:
        await instance.close()
        await _clean(request.param, request, names)
