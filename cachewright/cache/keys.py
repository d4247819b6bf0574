"""Physical key names: namespacing, validation and glob escaping.

Usage::

    keys = KeyBuilder("shop", max_length=1024)
    keys.entry("user:1")        # 'shop:user:1'
    keys.tag("users")           # 'shop~tag:users'
    keys.pattern("temp:*")      # 'shop:temp:*'    (a glob as written)
    keys.prefix_pattern("a*")   # 'shop:a\\**'     (user text escaped, then any suffix)

Entries live under ``<namespace>:``; cachewright's own bookkeeping lives under
``<namespace>~``, which no entry key can reach because a namespace may contain
neither ``:`` nor ``~``.
"""

from __future__ import annotations

import re

from cachewright.errors import ConfigurationError, InvalidKey

__all__ = ["KeyBuilder", "escape_glob"]

_GLOB_SPECIALS = re.compile(r"([\\*?\[\]])")
_NAMESPACE = re.compile(r"^[^:~\s*?\[\]\\]{1,64}$")


def escape_glob(text: str) -> str:
    """Escape Redis glob metacharacters so that ``text`` matches only itself in a glob.

    Usage::

        from cachewright import escape_glob

        await cache.delete_pattern(f"session:{escape_glob(user_name)}:*")
        escape_glob("a*b?[c]")      # 'a\\*b\\?\\[c\\]'
    """
    return _GLOB_SPECIALS.sub(r"\\\1", text)


class KeyBuilder:
    """Turns user keys and tags into validated physical names."""

    __slots__ = ("_entry_prefix", "_internal_prefix", "max_length", "namespace")

    def __init__(self, namespace: str, *, max_length: int = 1024) -> None:
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise ConfigurationError(
                "namespace must be 1-64 characters without ':', '~', spaces or glob characters"
            )
        self.namespace = namespace
        self.max_length = max_length
        self._entry_prefix = f"{namespace}:"
        self._internal_prefix = f"{namespace}~"

    def check(self, key: object, what: str = "key") -> str:
        if not isinstance(key, str):
            raise InvalidKey(f"{what} must be a str, not {type(key).__name__}")
        if not key:
            raise InvalidKey(f"{what} must not be empty")
        if len(key) > self.max_length:
            raise InvalidKey(f"{what} is longer than {self.max_length} bytes ({key[:40]!r}...)")
        if key.isascii():  # O(1) in CPython: the byte length is the length, no encode
            return key
        try:
            size = len(key.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise InvalidKey(f"{what} is not valid UTF-8 text ({key[:40]!r})") from exc
        if size > self.max_length:
            raise InvalidKey(f"{what} is longer than {self.max_length} bytes ({key[:40]!r}...)")
        return key

    def entry(self, key: object) -> str:
        return self._entry_prefix + self.check(key)

    def entries(self, keys: object) -> list[str]:
        return [self._entry_prefix + key for key in self.unique(keys)]

    def prefixed(self, keys: list[str]) -> list[str]:
        """Physical names of keys already validated (by ``unique``)."""
        prefix = self._entry_prefix
        return [prefix + key for key in keys]

    def unique(self, keys: object) -> list[str]:
        """Validated keys of a collection, duplicates dropped, order kept."""
        if type(keys) is list and len(keys) == 1:  # one key (a carried drop): as is
            return [self.check(keys[0])]
        if isinstance(keys, str | bytes) or not hasattr(keys, "__iter__"):
            raise InvalidKey("expected a collection of keys, not a single key")
        found = list(dict.fromkeys(keys))
        # The common batch, checked as a whole in C: all str (join refuses anything
        # else), all ASCII (so lengths are byte lengths), none empty, none too long.
        # Anything else goes key by key, for the error that names the culprit.
        try:
            joined = "".join(found)
        except TypeError:
            joined = None
        if (
            joined is not None
            and joined.isascii()
            and found
            and min(map(len, found)) > 0
            and max(map(len, found)) <= self.max_length
        ):
            return found
        return [self.check(key) for key in found]

    def user_key(self, physical: str) -> str:
        return physical[len(self._entry_prefix) :]

    def tag(self, tag: object) -> str:
        return self._internal_prefix + "tag:" + self.check(tag, "tag")

    def tags(self, tags: object) -> list[str]:
        if tags is None:
            return []
        if isinstance(tags, str):
            return [self.tag(tags)]
        if not hasattr(tags, "__iter__"):
            raise InvalidKey("tags must be a str or a collection of str")
        return [self.tag(tag) for tag in dict.fromkeys(tags)]

    def internal(self, name: str) -> str:
        return self._internal_prefix + name

    def pattern(self, glob: object) -> str:
        """This namespace's entries matching ``glob`` (a Redis glob, as written)."""
        return self._entry_prefix + self.check(glob, "pattern")

    def prefix_pattern(self, prefix: object) -> str:
        """This namespace's entries whose key starts with ``prefix``, taken literally."""
        return self._entry_prefix + escape_glob(self.check(prefix, "prefix")) + "*"

    def namespace_pattern(self) -> str:
        return escape_glob(self._entry_prefix) + "*"

    def internal_pattern(self) -> str:
        return escape_glob(self._internal_prefix) + "*"
