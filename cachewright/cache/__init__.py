"""The cache layer: typed get/set, many-ops, tags, counters, expiry and stats."""

from cachewright.cache._cache import Cache
from cachewright.cache._serializer import Lease
from cachewright.cache._stats import CacheStats
from cachewright.cache.backends.base import Backend
from cachewright.cache.backends.memory import MemoryBackend
from cachewright.cache.codecs import Codec, JsonCodec, PickleCodec
from cachewright.cache.entry import Entry

__all__ = [
    "Backend",
    "Cache",
    "CacheStats",
    "Codec",
    "Entry",
    "JsonCodec",
    "Lease",
    "MemoryBackend",
    "PickleCodec",
]
