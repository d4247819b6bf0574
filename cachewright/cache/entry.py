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

from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

__all__ = ["Entry"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _to_ms(moment: datetime | None) -> int:
    if moment is None:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _to_dt(ms: int) -> datetime | None:
    return _EPOCH + timedelta(milliseconds=ms) if ms else None


class Entry(Generic[T]):
    """A cached value with its metadata; immutable.

    ``stale`` is True past the entry's fresh life and inside its stale grace
    (set with ``stale_ttl``). ``version`` identifies this write; pass it to
    ``Cache.set_if_version`` to replace the entry only if nobody wrote it since.

    The times are kept as milliseconds and turned into datetimes only when read:
    a ``get_many`` of a hundred entries does not pay for three hundred datetimes
    nobody looks at.
    """

    __slots__ = ("_expires_ms", "_fresh_ms", "_written_ms", "stale", "tags", "value", "version")

    value: T
    tags: tuple[str, ...]
    stale: bool
    version: bytes
    _expires_ms: int
    _fresh_ms: int
    _written_ms: int

    def __init__(
        self,
        value: T,
        tags: tuple[str, ...] = (),
        expires_at: datetime | None = None,
        fresh_until: datetime | None = None,
        stale: bool = False,
        written_at: datetime | None = None,
        version: bytes = b"",
    ) -> None:
        self._init(
            value, tags, _to_ms(expires_at), _to_ms(fresh_until), stale, _to_ms(written_at), version
        )

    def _init(
        self,
        value: T,
        tags: tuple[str, ...],
        expires_ms: int,
        fresh_ms: int,
        stale: bool,
        written_ms: int,
        version: bytes,
    ) -> None:
        setter = object.__setattr__
        setter(self, "value", value)
        setter(self, "tags", tags)
        setter(self, "_expires_ms", expires_ms)
        setter(self, "_fresh_ms", fresh_ms)
        setter(self, "stale", stale)
        setter(self, "_written_ms", written_ms)
        setter(self, "version", version)

    @classmethod
    def from_ms(
        cls,
        value: T,
        tags: tuple[str, ...],
        expires_ms: int,
        fresh_ms: int,
        stale: bool,
        written_ms: int,
        version: bytes,
    ) -> Entry[T]:
        """Build from the envelope's millisecond times (0: none), without datetimes.

        Raises ``OverflowError`` for a time beyond year 9999 (a corrupt header)."""
        if not (0 <= expires_ms < MAX_MS and 0 <= fresh_ms < MAX_MS and 0 <= written_ms < MAX_MS):
            raise OverflowError("a time of the entry is out of range")
        # _init's work without its call: this runs for every entry read.
        entry: Entry[T] = cls.__new__(cls)
        setter = object.__setattr__
        setter(entry, "value", value)
        setter(entry, "tags", tags)
        setter(entry, "_expires_ms", expires_ms)
        setter(entry, "_fresh_ms", fresh_ms)
        setter(entry, "stale", stale)
        setter(entry, "_written_ms", written_ms)
        setter(entry, "version", version)
        return entry

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Entry is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Entry is immutable: cannot delete {name!r}")

    @property
    def expires_at(self) -> datetime | None:
        """When the entry disappears (its stale grace included); None: never."""
        return _to_dt(self._expires_ms)

    @property
    def fresh_until(self) -> datetime | None:
        """End of the fresh life when the entry has a stale grace; else None."""
        return _to_dt(self._fresh_ms)

    @property
    def written_at(self) -> datetime | None:
        return _to_dt(self._written_ms)

    def _key(self) -> tuple[Any, ...]:
        return (
            self.value,
            self.tags,
            self._expires_ms,
            self._fresh_ms,
            self.stale,
            self._written_ms,
            self.version,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # the value may be unhashable

    def __repr__(self) -> str:
        return (
            f"Entry(value={self.value!r}, tags={self.tags!r}, expires_at={self.expires_at!r},"
            f" fresh_until={self.fresh_until!r}, stale={self.stale!r},"
            f" written_at={self.written_at!r})"
        )


#: entry times from this one on (the last day of year 9999) read as a corrupt header
MAX_MS = int((datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)
