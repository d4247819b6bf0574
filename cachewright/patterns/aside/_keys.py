"""From a domain key (``42``) to a cache key (``"user:42"``).

Usage::

    to_key = key_function("user:{}")        # "user:{}".format(42) -> "user:42"
    to_key = key_function(lambda k: f"user:{k.tenant}:{k.id}")
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import TypeVar

from cachewright.errors import ConfigurationError, InvalidKey

__all__ = ["KeySpec", "key_function"]

K = TypeVar("K")

KeySpec = str | Callable[[K], str]


def key_function(spec: str | Callable[[K], str]) -> Callable[[K], str]:
    """A callable turning a domain key into a cache key; checks a format string once."""
    if isinstance(spec, str):
        fields = [name for _, name, _, _ in string.Formatter().parse(spec) if name is not None]
        if len(fields) != 1 or fields[0] not in ("", "0"):
            raise ConfigurationError(
                f"key format {spec!r} must have exactly one positional field, like 'user:{{}}'"
            )
        template = spec

        def from_template(key: K) -> str:
            return template.format(key)

        return from_template
    if callable(spec):

        def checked(key: K) -> str:
            result = spec(key)
            if not isinstance(result, str):
                raise InvalidKey(f"the key function returned a {type(result).__name__}, not str")
            return result

        return checked
    raise ConfigurationError(f"key must be a format string or a callable, not {spec!r}")
