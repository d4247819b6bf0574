"""Settings from the environment (prefix ``CACHEWRIGHT_``) or a ``.env`` file.

Usage::

    settings = Settings()                                    # reads CACHEWRIGHT_URL, ...
    settings = Settings(url="redis://127.0.0.1:6379/0", namespace="shop")
    cache = Cache.from_settings(settings)

Every field can be set as ``CACHEWRIGHT_<FIELD>``, e.g. ``CACHEWRIGHT_DEFAULT_TTL=300``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Configuration of a :class:`~cachewright.Cache` and the patterns above it."""

    model_config = SettingsConfigDict(
        env_prefix="CACHEWRIGHT_", env_file=".env", extra="ignore", frozen=True
    )

    url: str = Field(
        "memory://",
        description="Backend URL: memory://, redis://, rediss://, redis+sentinel://, "
        "redis+cluster:// (user and password in the URL for ACL).",
    )
    namespace: str = Field("cw", description="Prefix of every key; isolates tenants.")
    default_ttl: float | None = Field(
        None, description="Seconds an entry lives when set() gets no ttl; None: no expiry."
    )
    connect_timeout: float = Field(
        1.0,
        gt=0,
        description="Seconds to open a connection, or to wait for a free pooled one.",
    )
    read_timeout: float = Field(
        0.5,
        gt=0,
        description="Seconds a whole cache read may take (pool checkout, connect, send,"
        " reply); past it the read is a miss.",
    )
    write_timeout: float = Field(
        1.0,
        gt=0,
        description="Seconds a whole cache write may take (pool checkout, connect, send,"
        " reply); past it the write raises CacheUnavailable.",
    )
    max_connections: int = Field(64, ge=1, description="Connection pool size per node.")
    max_key_length: int = Field(1024, ge=1, description="Longest key in bytes.")
    max_value_bytes: int = Field(
        16 * 1024 * 1024, ge=1, description="Largest encoded value accepted by set()."
    )
    memory_max_entries: int = Field(
        100_000, ge=1, description="Entry bound of the memory backend (LRU beyond it)."
    )
    fail_open_writes: bool = Field(
        False, description="Writes to an unreachable cache are dropped and counted, not raised."
    )
    on_type_mismatch: Literal["raise", "miss"] = Field(
        "raise",
        description="A stored value that does not fit the requested type raises TypeMismatch"
        " ('raise') or reads as a miss ('miss').",
    )
    read_from_replicas: bool = Field(
        False,
        description="Cache reads (get, get_many, exists, ttl) go to replicas (Cluster,"
        " Sentinel): stale by the replication lag, no read-your-writes. Not with a local tier.",
    )
    breaker_threshold: int = Field(
        5, ge=1, description="Consecutive failures that open the circuit breaker."
    )
    breaker_reset: float = Field(
        2.0, gt=0, description="Seconds the breaker stays open before a probe is let through."
    )
    recovery_max_keys: int = Field(
        10_000,
        ge=1,
        description="Lost writes remembered for replay when the server answers again: at most"
        " this many keys, and as many tags and globs (the oldest dropped beyond it, counted).",
    )
    compress_threshold: int | None = Field(
        None, ge=1, description="Compress encoded values larger than this many bytes."
    )
    local_max_entries: int | None = Field(
        None,
        ge=1,
        description="Turn on the two-level cache: entries kept in process memory in front of"
        " Redis (None: off).",
    )
    local_ttl: float = Field(
        5.0, gt=0, description="Longest life of a local copy, in seconds (the staleness bound)."
    )
    local_max_bytes: int | None = Field(
        None, ge=1, description="Byte bound of the local tier (None: count bound only)."
    )
    otel: bool = Field(False, description="Record OpenTelemetry metrics (needs the otel extra).")
    allow_pickle: bool = Field(False, description="Allow the pickle codec (never the default).")
    pickle_key: SecretStr | None = Field(
        None, description="HMAC key that signs pickled entries; required with allow_pickle."
    )
