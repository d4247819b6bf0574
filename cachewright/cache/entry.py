"""What a cache read returns when the caller wants more than the value.

Usage::

    entry = await cache.get_entry("user:1", User)
    if entry is None:            # a miss (G1)
        ...
    elif entry.value is None:    # a cached None, told apart from a miss
        ...
    entry.tags, entry.expires_at, entry.stale
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

__all__ = ["Entry"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    """A cached value with its metadata.

    ``stale`` is True past the entry's fresh life and inside its stale grace
    (set with ``stale_ttl``). ``version`` identifies this write; pass it to
    ``Cache.set_if_version`` to replace the entry only if nobody wrote it since.
    """

    value: T
    tags: tuple[str, ...] = ()
    expires_at: datetime | None = None
    fresh_until: datetime | None = None
    stale: bool = False
    written_at: datetime | None = None
    version: bytes = field(default=b"", repr=False)
