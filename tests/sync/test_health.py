"""``Cache.ping()`` through the sync API: the same Health as the async one."""

from __future__ import annotations

import pytest

from cachewright import Health, Settings
from cachewright.sync import Cache


def test_ping_from_sync_code_on_memory(namespace: str) -> None:
    with Cache.from_url("memory://", settings=Settings(namespace=namespace)) as cache:
        health = cache.ping()
    assert isinstance(health, Health)
    assert health.healthy
    assert health.server_version is None


@pytest.mark.redis
def test_ping_from_sync_code_on_redis(redis_url: str, namespace: str) -> None:
    with Cache.from_url(redis_url, settings=Settings(namespace=namespace)) as cache:
        health = cache.ping()
    assert health.healthy
    assert health.reachable
    assert health.breaker == "closed"
    assert health.server_version
