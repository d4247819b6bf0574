"""Keys and values of ``SQLStore`` rows: key checks, JSON text through a pydantic adapter.

Usage::

    codec = RowCodec(Profile, key_type=int)
    codec.check_key(7)                      # 7, or InvalidKey
    text = codec.encode(7, profile)         # JSON text, or TypeMismatch / SerializationError
    codec.decode(7, text)                   # Profile, or TypeMismatch naming key 7
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from cachewright.errors import ConfigurationError, InvalidKey, SerializationError, TypeMismatch

__all__ = ["RowCodec"]

K = TypeVar("K", bound=int | str)
V = TypeVar("V")

# Both SQLite INTEGER and PostgreSQL BIGINT are signed 64-bit.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _type_name(tp: object) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)


def _short(error: Exception) -> str:
    return str(error).replace("\n", " ")[:400]


class RowCodec(Generic[K, V]):
    """Checks keys and turns values into JSON text and back, for one store."""

    __slots__ = ("_adapter", "key_type", "type_name")

    def __init__(self, type: Any, *, key_type: type[K]) -> None:
        if key_type not in (int, str):
            raise ConfigurationError(f"key_type must be int or str, got {key_type!r}")
        self.key_type = key_type
        self.type_name = _type_name(type)
        # Built once per store: constructing a TypeAdapter compiles a validator.
        self._adapter: TypeAdapter[V] = TypeAdapter(type)

    def check_key(self, key: object) -> K:
        """Return ``key`` if it fits the key column, else raise ``InvalidKey``."""
        if self.key_type is int:
            if isinstance(key, bool) or not isinstance(key, int):
                raise InvalidKey(f"expected an int key, got {type(key).__name__}: {key!r}")
            if not _INT_MIN <= key <= _INT_MAX:
                raise InvalidKey(f"int key {key} does not fit a signed 64-bit column")
        else:
            if not isinstance(key, str):
                raise InvalidKey(f"expected a str key, got {type(key).__name__}: {key!r}")
            if "\x00" in key:
                # PostgreSQL text cannot hold NUL; refused on SQLite too, so stores agree.
                raise InvalidKey(f"str key {key!r} contains a NUL character")
            if not key.isascii():
                try:
                    key.encode()
                except UnicodeEncodeError:  # a lone surrogate: no database can store it
                    raise InvalidKey(f"str key {key!r} is not valid Unicode text") from None
        return cast(K, key)  # narrowed to key_type above

    def encode(self, key: object, value: object) -> str:
        """Check ``value`` is a ``V`` (strictly: no coercion) and dump it as JSON text."""
        try:
            checked = self._adapter.validate_python(value, strict=True)
        except ValidationError as exc:
            raise TypeMismatch(
                f"value for key {key!r} is not a valid {self.type_name} "
                f"(got {type(value).__name__}): {_short(exc)}"
            ) from exc
        try:
            return self._adapter.dump_json(checked, warnings="error").decode()
        except (PydanticSerializationError, ValueError, TypeError) as exc:
            raise SerializationError(
                f"value for key {key!r} cannot be serialized as {self.type_name}: {_short(exc)}"
            ) from exc

    def decode(self, key: object, text: str | None) -> V:
        """Validate JSON text read back; SQL NULL reads as JSON ``null``."""
        try:
            return self._adapter.validate_json("null" if text is None else text)
        except ValidationError as exc:
            raise TypeMismatch(
                f"value stored under key {key!r} does not validate as {self.type_name}: "
                f"{_short(exc)}"
            ) from exc
