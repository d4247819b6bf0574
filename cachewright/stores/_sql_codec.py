"""Keys and values of ``SQLStore`` rows: key checks, JSON text through a pydantic adapter.

Usage::

    codec = RowCodec(Profile, key_type=int)
    codec.check_key(7)                      # 7, or InvalidKey
    text = codec.encode(7, profile)         # JSON text, or TypeMismatch / SerializationError
    codec.decode(7, text)                   # Profile, or TypeMismatch naming key 7

    codec = RowCodec(Profile, key_type=None)   # not declared: the table will tell
    codec.check_key(7)                      # an int or a str passes, until...
    codec.learn(str, "its key column 'key' is TEXT")
    codec.check_key(7)                      # InvalidKey, saying why and how to fix it
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from cachewright.errors import ConfigurationError, InvalidKey, SerializationError, TypeMismatch

__all__ = ["RowCodec", "key_type_of"]

K = TypeVar("K", bound=int | str)
V = TypeVar("V")

# Both SQLite INTEGER and PostgreSQL BIGINT are signed 64-bit.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _type_name(tp: object) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)


def key_type_of(key: object) -> type[int] | type[str] | None:
    """``int`` or ``str``: the key column type a key asks for (None: neither)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return int
    return str if isinstance(key, str) else None


def _short(error: Exception) -> str:
    return str(error).replace("\n", " ")[:400]


class RowCodec(Generic[K, V]):
    """Checks keys and turns values into JSON text and back, for one store."""

    __slots__ = ("_adapter", "_origin", "key_type", "type", "type_name", "where")

    def __init__(self, type: Any, *, key_type: type[K] | None, where: str = "the table") -> None:
        if key_type not in (int, str, None):
            raise ConfigurationError(f"key_type must be int or str, got {key_type!r}")
        #: int or str; None until the table's key column has been seen
        self.key_type: type[K] | None = key_type
        self.where = where
        self._origin = f"key_type={key_type.__name__}" if key_type is not None else ""
        self.type = type
        self.type_name = _type_name(type)
        # Built once per store: constructing a TypeAdapter compiles a validator.
        self._adapter: TypeAdapter[V] = TypeAdapter(type)

    @property
    def key_type_name(self) -> str:
        return "None" if self.key_type is None else self.key_type.__name__

    def learn(self, key_type: type[Any], origin: str) -> None:
        """Fix the key type once the table says it (``origin``: how it was decided)."""
        self.key_type = key_type
        self._origin = origin

    def _wrong_type(self, key: object) -> InvalidKey:
        kind = type(key).__name__
        if self.key_type is None:
            return InvalidKey(f"{self.where} keeps int or str keys, got {kind}: {key!r}")
        wanted = self.key_type.__name__
        other = "int" if wanted == "str" else "str"
        fix = (
            f"pass {wanted} keys, or use a table whose key column holds {other} keys "
            f"(for a table the store creates: key_type={other})"
        )
        return InvalidKey(
            f"{self.where} keeps {wanted} keys ({self._origin}), got {kind}: {key!r}; {fix}"
        )

    def check_key(self, key: object) -> K:
        """Return ``key`` if it fits the key column, else raise ``InvalidKey``.

        Before the key type is known, an int or a str passes (with the checks each needs).
        """
        if isinstance(key, int) and not isinstance(key, bool) and self.key_type is not str:
            if not _INT_MIN <= key <= _INT_MAX:
                raise InvalidKey(f"int key {key} does not fit a signed 64-bit column")
        elif self.key_type is int or not isinstance(key, str):
            raise self._wrong_type(key)
        else:
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
