"""Backends: where the cache layer's bytes live (process memory or Redis)."""

from cachewright.cache.backends.base import Backend, SetItem
from cachewright.cache.backends.memory import MemoryBackend

__all__ = ["Backend", "MemoryBackend", "SetItem"]
