"""Domain keys to cache keys and queue keys; values to queue bytes and back.

The one key mapper of the patterns: CacheAside, WriteThrough and WriteBehind all
validate ``key=`` here, the same way.

Usage::

    keys = KeyMapper("order:{}")            # or a callable: lambda k: f"order:{k}"
    keys.cache_key(7)                       # 'order:7'
    keys.queue_key(7)                       # '7'   (JSON: 7 and "7" stay distinct)
    keys.domain_key("7")                    # 7

    values = ValueCodec(Order)
    values.decode(values.encode(order))     # an Order again
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, from_json, to_json

from cachewright.cache.codecs import adapter_for
from cachewright.errors import (
    ConfigurationError,
    InvalidKey,
    SerializationError,
    TypeMismatch,
)

__all__ = ["KeyFormat", "KeyMapper", "ValueCodec", "key_function"]

K = TypeVar("K")
V = TypeVar("V")

#: a format string with one ``{}`` ("order:{}") or a callable from domain key to cache key
KeyFormat = str | Callable[[Any], str]


def _tuples(value: Any) -> Any:
    # JSON has no tuples; composite keys come back hashable.
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


def key_function(spec: KeyFormat) -> Callable[[Any], str]:
    """A callable turning a domain key into a cache key; checks a format string once.

    A format string needs exactly one positional field (``"user:{}"`` or ``"user:{0}"``);
    a callable must return a ``str`` (``InvalidKey`` otherwise, on each call).
    """
    if isinstance(spec, str):
        fields = [name for _, name, _, _ in string.Formatter().parse(spec) if name is not None]
        if len(fields) != 1 or fields[0] not in ("", "0"):
            raise ConfigurationError(
                f"key format {spec!r} must have exactly one positional field, like 'user:{{}}'"
            )
        return spec.format
    if callable(spec):
        function = spec

        def checked(key: Any) -> str:
            result = function(key)
            if not isinstance(result, str):
                raise InvalidKey(f"the key function returned a {type(result).__name__}, not str")
            return result

        return checked
    raise ConfigurationError(f"key must be a format string or a callable, not {spec!r}")


class KeyMapper(Generic[K]):
    """Maps a domain key to its cache key and to the queue's string key (and back)."""

    __slots__ = ("_adapter", "_format")

    def __init__(self, key: KeyFormat, key_type: Any = None) -> None:
        self._format: Callable[[Any], str] = key_function(key)
        self._adapter: TypeAdapter[Any] | None = None if key_type is None else adapter_for(key_type)

    def cache_key(self, key: K) -> str:
        return self._format(key)

    def queue_key(self, key: K) -> str:
        try:
            return to_json(key).decode()
        except PydanticSerializationError as exc:
            raise SerializationError(f"key {key!r} cannot be written as JSON") from exc

    def domain_key(self, queue_key: str) -> K:
        if self._adapter is not None:
            try:
                result: K = self._adapter.validate_json(queue_key)
            except ValidationError as exc:
                raise TypeMismatch(f"queued key {queue_key!r} does not fit the key type") from exc
            return result
        try:
            decoded: K = _tuples(from_json(queue_key))  # pydantic-core: ~10x json.loads
        except ValueError as exc:
            raise SerializationError(f"queued key {queue_key!r} is not JSON") from exc
        return decoded


class ValueCodec(Generic[V]):
    """JSON bytes through a pydantic ``TypeAdapter``: what the queue carries."""

    __slots__ = ("_adapter", "type")

    def __init__(self, tp: Any) -> None:
        self.type = tp
        self._adapter: TypeAdapter[V] = adapter_for(tp)

    def encode(self, value: V) -> bytes:
        try:
            return self._adapter.dump_json(value)
        except PydanticSerializationError as exc:
            raise SerializationError(
                f"value of type {type(value).__name__} cannot be encoded"
            ) from exc

    def decode(self, data: bytes) -> V:
        try:
            return self._adapter.validate_json(data)
        except ValidationError as exc:
            raise TypeMismatch(
                f"queued value does not fit {self.type!r}: {exc.error_count()} errors"
            ) from exc
