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
    escape_glob,
)
from cachewright.errors import (
    AccessDenied,
    AuthenticationFailed,
    CacheError,
    CacheUnavailable,
    CachewrightError,
    CircuitOpen,
    ConfigurationError,
    InvalidKey,
    LoaderTimeout,
    LockTimeout,
    PermissionDenied,
    QueueClosed,
    QueueFull,
    QueueUnavailable,
    SerializationError,
    StoreError,
    StoreUnavailable,
    TypeMismatch,
    WriteBehindError,
)
from cachewright.events import Event, EventKind, Events
from cachewright.patterns import (
    CacheAside,
    Cached,
    FlushWorker,
    MemoryWriteQueue,
    NotModified,
    NotModifiedType,
    RedisWriteQueue,
    RetryPolicy,
    Warmup,
    WarmupReport,
    WriteBehind,
    WriteQueue,
    WriteThrough,
    cached,
)
from cachewright.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "Cache",
    "CacheAside",
    "CacheError",
    "CacheStats",
    "CacheUnavailable",
    "Cached",
    "CachewrightError",
    "CircuitOpen",
    "ConfigurationError",
    "Entry",
    "Event",
    "EventKind",
    "Events",
    "FlushWorker",
    "InvalidKey",
    "JsonCodec",
    "Lease",
    "LoaderTimeout",
    "LocalStats",
    "LocalTier",
    "LockTimeout",
    "MemoryBackend",
    "MemoryWriteQueue",
    "Metrics",
    "NotModified",
    "NotModifiedType",
    "PermissionDenied",
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
    "escape_glob",
    "otel_metrics",
]
