"""Adaptive caching: the loader decides, per value, how long it is cached, or not at all.

Usage::

    async def load_article(article_id: int) -> Article | Cached[Article] | None:
        article = await db.article(article_id)
        if article is None:
            return None
        if article.draft:
            return Cached.skip(article)                 # returned, never cached
        if article.age > timedelta(days=30):
            return Cached(article, ttl=86_400, tags=["archive"])   # an old one: a day
        return Cached(article, ttl=60)                  # a fresh one: a minute

    async def refresh_article(article_id: int, stale: Entry[Article]) -> Article | NotModifiedType:
        if not await db.changed_since(article_id, stale.written_at):
            return NotModified                          # keep the entry, extend its life
        return await db.article(article_id)

A plain value is cached with the pattern's options. ``Cached(value, ttl=..., tags=...)``
overrides ``ttl`` (None keeps the pattern's) and adds ``tags`` to the pattern's: the
pattern's tags are on the lease taken before the load, so an invalidation of them
during the load still wins (G10); an invalidation of an added tag that lands during
the load does not stop the fill. ``stale_ttl`` stays the pattern's. ``NotModified``
is what a conditional ``refresh_loader`` returns to keep a stale entry's value.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final, Generic, TypeVar, Union

from cachewright.errors import ConfigurationError
from cachewright.patterns._fill import FillPolicy

__all__ = [
    "Cached",
    "Loaded",
    "NotModified",
    "NotModifiedType",
    "policy_for",
    "unwrap",
    "value_type",
]

V = TypeVar("V")


class NotModifiedType(enum.Enum):
    """The type of :data:`NotModified` (for annotations: ``-> Article | NotModifiedType``)."""

    NOT_MODIFIED = "not modified"

    def __repr__(self) -> str:
        return "NotModified"


#: what a conditional refresh loader returns to keep the stale entry's value
NotModified: Final = NotModifiedType.NOT_MODIFIED


class Cached(Generic[V]):
    """A loaded value with its own cache options (see the module docstring)."""

    __slots__ = ("skipped", "tags", "ttl", "value")

    def __init__(
        self,
        value: V,
        *,
        ttl: float | int | timedelta | None = None,
        tags: Iterable[str] | str | None = None,
    ) -> None:
        seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
        if seconds is not None and (isinstance(seconds, bool) or seconds <= 0):
            raise ConfigurationError(f"Cached ttl must be positive seconds, not {ttl!r}")
        self.value = value
        self.ttl: float | None = None if seconds is None else float(seconds)
        names = (tags,) if isinstance(tags, str) else tuple(tags or ())
        self.tags: tuple[str, ...] = tuple(dict.fromkeys(names))
        self.skipped = False

    @classmethod
    def skip(cls, value: V) -> Cached[V]:
        """``value`` is returned to the caller and not cached."""
        wrapped = cls(value)
        wrapped.skipped = True
        return wrapped

    def __repr__(self) -> str:
        if self.skipped:
            return f"Cached.skip({self.value!r})"
        return f"Cached({self.value!r}, ttl={self.ttl!r}, tags={list(self.tags)!r})"


#: what a loader may return
Loaded = Union[V, Cached[V], None]  # noqa: UP007 (a generic alias)


def unwrap(result: Loaded[V]) -> V | None:
    """The value inside a loader's result."""
    return result.value if isinstance(result, Cached) else result


def policy_for(policy: FillPolicy, result: object) -> FillPolicy | None:
    """The fill policy of one loader result; None when it must not be cached."""
    if not isinstance(result, Cached):
        return policy
    if result.skipped:
        return None
    if result.ttl is None and not result.tags:
        return policy
    return dataclasses.replace(
        policy,
        ttl=policy.ttl if result.ttl is None else result.ttl,
        tags=tuple(dict.fromkeys((*policy.tags, *result.tags))),
    )


def value_type(annotation: Any) -> Any:
    """The cached type in a return annotation: ``Cached[X]`` is ``X``, and
    ``X | Cached[X] | None`` is ``X | None``."""
    if typing.get_origin(annotation) is Cached:
        return typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if typing.get_origin(a) is not Cached]
        wrapped = [
            typing.get_args(a)[0]
            for a in typing.get_args(annotation)
            if typing.get_origin(a) is Cached
        ]
        kept = list(dict.fromkeys([*members, *wrapped]))
        if wrapped:
            return Union[tuple(kept)]  # noqa: UP007 (built from a list)
    return annotation
