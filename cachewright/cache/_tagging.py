"""The tags of a write: their index keys and names, worked out once per tag set.

Usage (what :class:`~cachewright.cache._writes.WritePath` does)::

    tagging = Tagging(keys)
    index_keys, names = tagging.of(["users", "admins"])   # validated, duplicates dropped
    index_keys, names = tagging.of(None)                  # ((), ())

An application tags its writes with the same few tag sets again and again, and
validating and prefixing them costs about as much client time as the rest of a tagged
write's bookkeeping: so the answer is kept per tag set (a str, or a list or tuple of
str), up to :data:`KEPT` of them, then all forgotten at once and learned again. Other
collections (a set, a generator) are worked out each time, from one pass over them.
Invalid tags raise :class:`~cachewright.errors.InvalidKey`, as
:meth:`KeyBuilder.tags` says, and are never kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from cachewright.cache.keys import KeyBuilder

__all__ = ["KEPT", "Tagging", "TagsOf"]

#: tag sets remembered at most (a few hundred bytes each)
KEPT = 1024

#: (index keys, tag names), in the order first given, without duplicates
TagsOf = tuple[tuple[str, ...], tuple[str, ...]]

_NONE: TagsOf = ((), ())


class Tagging:
    """The index keys and names of the tags of a write, memoised per tag set."""

    __slots__ = ("_keys", "_known")

    def __init__(self, keys: KeyBuilder) -> None:
        self._keys = keys
        self._known: dict[object, TagsOf] = {}

    def of(self, tags: Iterable[str] | str | None) -> TagsOf:
        """(index keys, names) of ``tags``."""
        if tags is None:
            return _NONE
        memo: object
        if isinstance(tags, str):
            memo = tags
        elif type(tags) is list or type(tags) is tuple:
            memo = tuple(tags)
        else:
            return self._work_out(tags)
        try:
            found = self._known.get(memo)
        except TypeError:  # an unhashable member: no tag; _work_out says why
            return self._work_out(tags)
        if found is None:
            found = self._work_out(tags)
            if len(self._known) >= KEPT:
                self._known.clear()
            self._known[memo] = found
        return found

    def _work_out(self, tags: object) -> TagsOf:
        if isinstance(tags, str):
            return (self._keys.tag(tags),), (tags,)
        if not hasattr(tags, "__iter__"):
            self._keys.tags(tags)  # raises InvalidKey
        items = list(cast("Iterable[str]", tags))  # one pass: a generator is read once
        return tuple(self._keys.tags(items)), tuple(dict.fromkeys(items))
