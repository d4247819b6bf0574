"""The cache layer: typed get/set, many-ops, tags, counters, expiry and stats."""

from cachewright.cache._cache import Cache
from cachewright.cache._fences import WriteWatcher
from cachewright.cache._serializer import Lease
from cachewright.cache._stats import CacheStats, LocalStats, RecoveryStats
from cachewright.cache.backends.base import Backend
from cachewright.cache.backends.memory import MemoryBackend
from cachewright.cache.codecs import Codec, JsonCodec, PickleCodec
from cachewright.cache.config import CacheSettings
from cachewright.cache.entry import Entry
from cachewright.cache.health import Health
from cachewright.cache.keys import escape_glob
from cachewright.cache.local import Channel, ChannelListener, LocalTier

__all__ = [
    "Backend",
    "Cache",
    "CacheSettings",
    "CacheStats",
    "Channel",
    "ChannelListener",
    "Codec",
    "Entry",
    "Health",
    "JsonCodec",
    "Lease",
    "LocalStats",
    "LocalTier",
    "MemoryBackend",
    "PickleCodec",
    "RecoveryStats",
    "WriteWatcher",
    "escape_glob",
]
