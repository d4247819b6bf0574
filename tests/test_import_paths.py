"""Import paths documented before the package restructure keep naming the same objects."""

from __future__ import annotations

import importlib

import pytest

import cachewright
import cachewright.cache
import cachewright.patterns

_DOCUMENTED = [
    ("cachewright.patterns.cache_aside", "CacheAside"),
    ("cachewright.patterns.cache_aside", "CacheAsideStats"),
    ("cachewright.patterns.cached", "CachedFunction"),
    ("cachewright.patterns.warmup", "Warmup"),
    ("cachewright.patterns.warmup", "WarmupReport"),
    ("cachewright.patterns.worker", "FlushWorker"),
    ("cachewright.patterns.worker", "WorkerStats"),
    ("cachewright.patterns.worker", "run_worker"),
    ("cachewright.patterns.write_behind", "WriteBehind"),
    ("cachewright.patterns.queues", "WriteQueue"),
    ("cachewright.patterns.queues", "MemoryWriteQueue"),
    ("cachewright.patterns.queues", "QueuedOp"),
    ("cachewright.patterns.queues", "Batch"),
    ("cachewright.patterns.queues", "DeadLetter"),
    ("cachewright.patterns.queues", "ReplayResult"),
    ("cachewright.patterns.queues", "QueueStats"),
    ("cachewright.patterns.queues.redis", "RedisWriteQueue"),
    ("cachewright.cache.local", "LocalTier"),
    ("cachewright.cache.local", "Channel"),
    ("cachewright.cache.local", "ChannelListener"),
]


@pytest.mark.parametrize(("module", "name"), _DOCUMENTED)
def test_documented_path_names_the_public_object(module: str, name: str) -> None:
    found = getattr(importlib.import_module(module), name)
    public = (cachewright, cachewright.patterns, cachewright.cache)
    assert any(getattr(package, name, None) is found for package in public)


def test_cached_stays_the_decorator_after_its_module_is_imported() -> None:
    importlib.import_module("cachewright.patterns.cached")
    assert cachewright.patterns.cached is cachewright.cached
    assert callable(cachewright.patterns.cached)
