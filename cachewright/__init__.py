"""cachewright: async cache patterns (cache-aside, write-through, write-behind) over
Redis or process memory.

Usage::

    from cachewright import Cache, CacheAside

    cache = Cache.from_url("memory://", namespace="shop")   # or "redis://127.0.0.1:6379/0"
    users = CacheAside(cache, loader=repo.get, key="user:{}", type=User, ttl=600)
    user = await users.get(42)
"""

import importlib
from typing import TYPE_CHECKING

from cachewright import _wiring
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
    NotReplicated,
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

if TYPE_CHECKING:
    from cachewright._cli.worker_process import run_worker
    from cachewright._metrics import Metrics, otel_metrics
    from cachewright.cache import (
        Cache,
        CacheStats,
        Entry,
        Health,
        JsonCodec,
        Lease,
        LocalStats,
        LocalTier,
        MemoryBackend,
        PickleCodec,
        escape_glob,
    )
    from cachewright.cache.config import CacheSettings
    from cachewright.events import Event, EventKind, Events
    from cachewright.patterns import (
        CacheAside,
        Cached,
        Failure,
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
        classify_failure,
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
    "Failure",
    "FlushWorker",
    "Health",
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
    "NotReplicated",
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
    "classify_failure",
    "escape_glob",
    "otel_metrics",
    "run_worker",
]

# The exception tree above is light and imported at once; everything else on first use
# (PEP 562), so that ``import cachewright`` and ``cachewright --help`` do not load Redis,
# pydantic and the patterns before a name that needs them is touched.
_LAZY: dict[str, str] = {
    "Metrics": "cachewright._metrics",
    "otel_metrics": "cachewright._metrics",
    "Cache": "cachewright.cache",
    "CacheStats": "cachewright.cache",
    "Entry": "cachewright.cache",
    "Health": "cachewright.cache",
    "JsonCodec": "cachewright.cache",
    "Lease": "cachewright.cache",
    "LocalStats": "cachewright.cache",
    "LocalTier": "cachewright.cache",
    "MemoryBackend": "cachewright.cache",
    "PickleCodec": "cachewright.cache",
    "escape_glob": "cachewright.cache",
    "Event": "cachewright.events",
    "EventKind": "cachewright.events",
    "Events": "cachewright.events",
    "CacheAside": "cachewright.patterns",
    "Cached": "cachewright.patterns",
    "Failure": "cachewright.patterns",
    "FlushWorker": "cachewright.patterns",
    "MemoryWriteQueue": "cachewright.patterns",
    "NotModified": "cachewright.patterns",
    "NotModifiedType": "cachewright.patterns",
    "RedisWriteQueue": "cachewright.patterns",
    "RetryPolicy": "cachewright.patterns",
    "Warmup": "cachewright.patterns",
    "WarmupReport": "cachewright.patterns",
    "WriteBehind": "cachewright.patterns",
    "WriteQueue": "cachewright.patterns",
    "WriteThrough": "cachewright.patterns",
    "cached": "cachewright.patterns",
    "classify_failure": "cachewright.patterns",
    "Settings": "cachewright.settings",
    # Worker process plumbing is the CLI layer's; cachewright.patterns.worker names it
    # through this re-export, so no pattern module imports the CLI.
    "run_worker": "cachewright._cli.worker_process",
}
_SUBPACKAGES = frozenset({"cache", "cli", "errors", "patterns", "settings", "stores", "sync"})


def _read_settings() -> "CacheSettings":
    """``Settings()`` from ``CACHEWRIGHT_*`` and ``.env``: what the layers below use when
    given no settings. Settings are read here, at the top, and the layers below ask
    :mod:`cachewright._wiring` for them (they may not import ``cachewright.settings``)."""
    from cachewright.settings import Settings

    return Settings()


_wiring.install_settings(_read_settings)


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
