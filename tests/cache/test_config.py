"""Settings are read at the top and passed down: the cache layer reads a ``CacheSettings``.

A cache (or a durable queue) built without settings still reads ``CACHEWRIGHT_*``,
through the reader the top package installs, although nothing below the top imports
``cachewright.settings`` (tests/test_layering.py checks that part).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

import pytest

from cachewright import Settings
from cachewright.cache import Cache, CacheSettings, MemoryBackend
from cachewright.cache.config import Secret, default_settings
from cachewright.patterns import RedisWriteQueue


def test_settings_is_a_cache_settings_and_the_protocol_names_only_its_fields() -> None:
    assert isinstance(Settings(), CacheSettings)
    members = {name for name, value in vars(CacheSettings).items() if isinstance(value, property)}
    assert members
    assert members <= set(Settings.model_fields)


def test_a_cache_without_settings_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHEWRIGHT_NAMESPACE", "from-env")
    monkeypatch.setenv("CACHEWRIGHT_DEFAULT_TTL", "42")
    assert isinstance(default_settings(), Settings)
    cache = Cache(MemoryBackend())
    assert cache.namespace == "from-env"
    assert cache.settings.default_ttl == 42
    assert Cache.from_url("memory://").namespace == "from-env"
    assert Cache.from_settings().namespace == "from-env"
    monkeypatch.setenv("CACHEWRIGHT_NAMESPACE", "read-again")  # read per cache, as before
    assert Cache.from_url("memory://").namespace == "read-again"


def test_the_reader_is_installed_whatever_module_is_imported_first() -> None:
    code = (
        "from cachewright.cache.backends.memory import MemoryBackend\n"
        "from cachewright.cache import Cache\n"
        "print(Cache(MemoryBackend()).namespace)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEWRIGHT_")}
    env["CACHEWRIGHT_NAMESPACE"] = "first-import"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "first-import"


@dataclass(frozen=True)
class PlainSettings:
    """Not pydantic: the cache layer reads attributes, nothing else."""

    url: str = "memory://"
    namespace: str = "plain"
    default_ttl: float | None = 30.0
    connect_timeout: float = 1.0
    read_timeout: float = 0.5
    write_timeout: float = 1.0
    max_connections: int = 8
    max_key_length: int = 64
    max_value_bytes: int = 1024
    memory_max_entries: int = 100
    fail_open_writes: bool = False
    on_type_mismatch: Literal["raise", "miss"] = "raise"
    read_from_replicas: bool = False
    breaker_threshold: int = 5
    breaker_reset: float = 2.0
    recovery_max_keys: int = 100
    compress_threshold: int | None = None
    local_max_entries: int | None = None
    local_ttl: float = 5.0
    local_max_bytes: int | None = None
    otel: bool = False
    allow_pickle: bool = False
    pickle_key: Secret | None = None


async def test_any_cache_settings_configures_a_cache() -> None:
    mine = PlainSettings()
    async with Cache.from_settings(mine) as cache:
        assert cache.settings is mine
        assert cache.namespace == "plain"
        await cache.set("k", 1)
        assert await cache.ttl("k") == pytest.approx(30.0, abs=1.0)


async def test_a_queue_without_settings_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CACHEWRIGHT_NAMESPACE", "queue-env")
    queue = RedisWriteQueue.from_url("redis://127.0.0.1:6379/0")  # nothing connects yet
    try:
        assert "namespace='queue-env'" in repr(queue)
    finally:
        await queue.close()
