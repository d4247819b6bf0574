"""Codecs turn values into payload bytes and back, typed through pydantic.

Usage::

    codec = JsonCodec()                       # the default
    data = codec.encode(User(id=1))           # b'{"id":1}'
    user = codec.decode(data, User)           # validated User

    codec = PickleCodec(key=b"secret")        # opt-in only; HMAC-signed, see G13

A codec raises :class:`~cachewright.errors.SerializationError` when a value cannot be
encoded, :class:`~cachewright.errors.TypeMismatch` when stored data does not fit the
requested type, and :class:`CorruptPayload` when the bytes are not what it wrote
(the cache layer reads those as a miss).
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
from typing import Any, Protocol, runtime_checkable

import pydantic_core
from pydantic import PydanticSchemaGenerationError, PydanticUserError, TypeAdapter, ValidationError

from cachewright.cache.envelope import PICKLE
from cachewright.errors import ConfigurationError, SerializationError, TypeMismatch

__all__ = ["Codec", "CorruptPayload", "JsonCodec", "PickleCodec", "adapter_for"]

_ADAPTERS: dict[object, TypeAdapter[Any]] = {}
_last: tuple[object, TypeAdapter[Any]] = (object(), TypeAdapter(object))  # the last asked


class CorruptPayload(SerializationError):
    """Stored bytes this codec did not write, or that were tampered with."""


def adapter_for(tp: Any) -> TypeAdapter[Any]:
    """A cached ``TypeAdapter`` for ``tp`` (building one costs far more than using it)."""
    global _last
    last = _last
    if last[0] is tp:  # the type of the previous call: no hash (``Optional[T]``'s is Python)
        return last[1]
    try:
        adapter = _ADAPTERS.get(tp)
    except TypeError:  # an unhashable type expression: build, do not cache
        return _build(tp)
    if adapter is None:
        adapter = _ADAPTERS[tp] = _build(tp)
    _last = (tp, adapter)
    return adapter


def _build(tp: Any) -> TypeAdapter[Any]:
    try:
        return TypeAdapter(tp)
    except (PydanticUserError, PydanticSchemaGenerationError, TypeError) as exc:
        raise ConfigurationError(f"{tp!r} cannot be used as a cache value type: {exc}") from exc


def _is_corruption(exc: ValidationError) -> bool:
    return any(error["type"] == "json_invalid" for error in exc.errors(include_url=False))


@runtime_checkable
class Codec(Protocol):
    """Encodes values to payload bytes; ``flag`` marks its entries in the envelope."""

    @property
    def flag(self) -> int: ...

    def encode(self, value: object, tp: Any = None) -> bytes: ...

    def decode(self, payload: bytes, tp: Any = None) -> Any: ...


class JsonCodec:
    """JSON through pydantic-core: models, dataclasses, TypedDicts, builtins, datetimes."""

    __slots__ = ()

    @property
    def flag(self) -> int:
        return 0

    def encode(self, value: object, tp: Any = None) -> bytes:
        try:
            if tp is None:
                return pydantic_core.to_json(value)
            return adapter_for(tp).dump_json(value)
        except (pydantic_core.PydanticSerializationError, ValueError, TypeError) as exc:
            raise SerializationError(
                f"cannot encode a {type(value).__name__} as JSON: {exc}"
            ) from exc

    def decode(self, payload: bytes, tp: Any = None) -> Any:
        if tp is None:
            try:
                return pydantic_core.from_json(payload)
            except ValueError as exc:
                raise CorruptPayload("stored bytes are not valid JSON") from exc
        try:
            return adapter_for(tp).validate_json(payload)
        except ValidationError as exc:
            if _is_corruption(exc):
                raise CorruptPayload("stored bytes are not valid JSON") from exc
            raise TypeMismatch(
                f"the stored value does not fit {_type_name(tp)}: {exc.error_count()} error(s), "
                f"first: {exc.errors(include_url=False)[0]['msg']}"
            ) from exc


class PickleCodec:
    """Pickle, signed with HMAC-SHA256 so tampered entries read as misses.

    Never the default: only for values JSON cannot carry, on a Redis only your
    application can write to. Unpickling untrusted bytes runs code; the signature
    check happens before anything is unpickled.
    """

    __slots__ = ("_key",)
    _DIGEST = 32

    def __init__(self, key: bytes | str) -> None:
        key_bytes = key.encode() if isinstance(key, str) else key
        if len(key_bytes) < 16:
            raise ConfigurationError("the pickle HMAC key must be at least 16 bytes")
        self._key = key_bytes

    def __repr__(self) -> str:
        return "PickleCodec(key=***)"

    @property
    def flag(self) -> int:
        return PICKLE

    def encode(self, value: object, tp: Any = None) -> bytes:
        try:
            body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise SerializationError(f"cannot pickle a {type(value).__name__}: {exc}") from exc
        return hmac.new(self._key, body, hashlib.sha256).digest() + body

    def decode(self, payload: bytes, tp: Any = None) -> Any:
        signature, body = payload[: self._DIGEST], payload[self._DIGEST :]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            raise CorruptPayload("pickled entry has a bad signature")
        try:
            value = pickle.loads(body)
        except Exception as exc:
            raise CorruptPayload("pickled entry cannot be loaded") from exc
        if tp is None:
            return value
        try:
            return adapter_for(tp).validate_python(value)
        except ValidationError as exc:
            raise TypeMismatch(f"the stored value does not fit {_type_name(tp)}") from exc


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)
