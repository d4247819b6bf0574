"""A CacheAside's constructor options, checked once: seconds, tags, the fill policy.

Usage (what ``CacheAside.__init__`` does)::

    soft, hard = check_options(ttl=600, stale_ttl=3600, batch_fill="safe", ...)
    policy, lock_wait = fill_options(type=User, ttl=600, lock_ttl=10, lock_wait=None, ...)

Bad options raise :class:`~cachewright.errors.ConfigurationError` at construction,
never at the first read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Literal

from cachewright.errors import ConfigurationError
from cachewright.patterns._fill import ExpiresAt, FillPolicy, expiry_options

__all__ = ["Seconds", "check_options", "fill_options", "seconds", "tag_names"]

Seconds = float | int | timedelta


def seconds(value: Seconds, what: str) -> float:
    total = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if isinstance(value, bool) or total <= 0:
        raise ConfigurationError(f"{what} must be a positive number of seconds, not {value!r}")
    return total


def tag_names(tags: Iterable[str] | str | None) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        return (tags,)
    return tuple(dict.fromkeys(tags))


def check_options(
    *,
    ttl: Seconds | None,
    stale_ttl: Seconds | None,
    early_refresh: float | None,
    max_concurrency: int,
    batch_fill: Literal["safe", "fast"],
    soft_timeout: Seconds | None,
    hard_timeout: Seconds | None,
) -> tuple[float | None, float | None]:
    """Options that only make sense together; returns (soft, hard) timeouts in seconds."""
    if max_concurrency < 1:
        raise ConfigurationError(f"max_concurrency must be at least 1, not {max_concurrency}")
    if batch_fill not in ("safe", "fast"):
        raise ConfigurationError(f"batch_fill must be 'safe' or 'fast', not {batch_fill!r}")
    if stale_ttl is not None and ttl is None:
        raise ConfigurationError("stale_ttl needs a ttl: entries without expiry never go stale")
    if batch_fill == "fast" and stale_ttl is not None:
        raise ConfigurationError("batch_fill='fast' cannot write stale_ttl; use 'safe'")
    if early_refresh is not None and early_refresh <= 0:
        raise ConfigurationError(f"early_refresh must be positive, not {early_refresh!r}")
    soft = None if soft_timeout is None else seconds(soft_timeout, "soft_timeout")
    if soft is not None and stale_ttl is None:
        raise ConfigurationError("soft_timeout needs a stale_ttl: it serves stale values")
    return soft, None if hard_timeout is None else seconds(hard_timeout, "hard_timeout")


def fill_options(
    *,
    type: Any,
    ttl: Seconds | None,
    sliding: Seconds | None,
    expires_at: ExpiresAt | None,
    tags: Iterable[str] | str | None,
    cache_none: bool,
    none_ttl: Seconds | None,
    stale_ttl: Seconds | None,
    lock_ttl: Seconds,
    lock_wait: Seconds | None,
    lock: bool = False,
) -> tuple[FillPolicy, float]:
    """How every entry is written (type, lives, tags, negative caching, lease timeout),
    and how long a miss waits on another process's lease (``lock_wait``) in seconds."""
    stale = None if stale_ttl is None else seconds(stale_ttl, "stale_ttl")
    window, until = expiry_options(sliding, expires_at, stale_ttl=stale)
    policy = FillPolicy(
        type=type,
        ttl=None if ttl is None else seconds(ttl, "ttl"),
        sliding=window,
        expires_at=until,
        stale_ttl=stale,
        tags=tag_names(tags),
        cache_none=cache_none,
        none_ttl=None if none_ttl is None else seconds(none_ttl, "none_ttl"),
        lock_ttl=seconds(lock_ttl, "lock_ttl"),
        notify=lock,  # lock waiters in other processes are woken by the fill
    )
    # Long enough to outlive one dead filler's lease and the next filler's load.
    wait = 2 * policy.lock_ttl if lock_wait is None else seconds(lock_wait, "lock_wait")
    return policy, wait
