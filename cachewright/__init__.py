"""cachewright: async cache patterns (cache-aside, write-through, write-behind) over
Redis or process memory.

Usage::

    from cachewright import Cache, CacheAside

    cache = Cache.from_url("memory://", namespace="shop")   # or "redis://127.0.0.1:6379/0"
    users = CacheAside(cache, loader=repo.get, key="user:{}", type=User, ttl=600)
    user = await users.get(42)
"""

from cachewright._metrics import Metrics, otel_metrics
from cachewright.cache import (
    Cache,
    CacheStats,
    Entry,
    JsonCodec,
    Lease,
    LocalStats,
    LocalTier,
    MemoryBackend,
    PickleCodec,
)
from cachewright.errors import (
    CacheError,
    CacheUnavailable,
    CachewrightError,
    CircuitOpen,
    ConfigurationError,
    InvalidKey,
    LoaderError,
    LockTimeout,
    QueueClosed,
    QueueFull,
    QueueUnavailable,
    SerializationError,
    StoreError,
    StoreUnavailable,
    TypeMismatch,
    WriteBehindError,
)
from cachewright.patterns import (
    CacheAside,
    Failure,
    FlushWorker,
    MemoryWriteQueue,
    RedisWriteQueue,
    RetryPolicy,
    Warmup,
    WarmupReport,
    WriteBehind,
    WriteQueue,
    WriteThrough,
    cached,
    classify_failure,
)
from cachewright.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "Cache",
    "CacheAside",
    "CacheError",
    "CacheStats",
    "CacheUnavailable",
    "CachewrightError",
    "CircuitOpen",
    "ConfigurationError",
    "Entry",
    "Failure",
    "FlushWorker",
    "InvalidKey",
    "JsonCodec",
    "Lease",
    "LoaderError",
    "LocalStats",
    "LocalTier",
    "LockTimeout",
    "MemoryBackend",
    "MemoryWriteQueue",
    "Metrics",
    "PickleCodec",
    "QueueClosed",
    "QueueFull",
    "QueueUnavailable",
    "RedisWriteQueue",
    "RetryPolicy",
    "SerializationError",
    "Settings",
    "StoreError",
    "StoreUnavailable",
    "TypeMismatch",
    "Warmup",
    "WarmupReport",
    "WriteBehind",
    "WriteBehindError",
    "WriteQueue",
    "WriteThrough",
    "__version__",
    "cached",
    "classify_failure",
    "otel_metrics",
]
