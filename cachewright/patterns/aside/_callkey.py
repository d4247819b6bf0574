"""Stable cache keys from a function call's arguments, for ``@cached``.

Usage::

    builder = CallKey(load_product, prefix="shop.catalog.load_product")
    builder.key((42,), {})              # 'shop.catalog.load_product:[42]'
    builder.key(("shoes",), {"limit": 10})
                                        # 'shop.search:["shoes",10]'

Arguments are bound to the signature and defaults applied, so ``f(1)``, ``f(x=1)``
and ``f(1, 2)`` with ``y=2`` the default all give one key. A leading ``self`` or
``cls`` is left out. Values are encoded, never ``hash()``-ed (string hashes change
between processes): ``None``, bools, ints, floats, strings, bytes, ``Decimal``,
``UUID``, dates and times, enums, tuples, frozensets, frozen dataclasses and frozen
pydantic models, nested. Anything else (dicts, lists, sets, plain objects whose
repr is their address) is refused with :class:`~cachewright.errors.InvalidKey`: pass
``key=`` to say how to key it. A key longer than 200 characters is shortened to a
SHA-256 digest of the same text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import inspect
import json
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from cachewright.errors import ConfigurationError, InvalidKey

__all__ = ["CallKey", "canonical"]

_MAX_READABLE = 200
_SKIPPED_FIRST = ("self", "cls")


def _qualified(tp: type) -> str:
    return f"{tp.__module__}.{tp.__qualname__}"


def canonical(value: object, path: str = "argument") -> Any:
    """A JSON-ready form of ``value`` that is equal exactly when the values are."""
    # bool before int (bool is an int), enum before its mixed-in base type.
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return {"enum": _qualified(type(value)), "name": value.name}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}  # repr tells 1.0 from 1, and keeps nan/inf valid JSON
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        text = str(value) if isinstance(value, dt.timedelta) else value.isoformat()
        return {type(value).__name__: text}
    if isinstance(value, tuple):
        return [canonical(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, frozenset):
        items = [canonical(item, f"{path} item") for item in value]
        return {"frozenset": sorted(items, key=_dump)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise InvalidKey(f"{path} is a mutable dataclass; freeze it or pass key=")
        fields = {
            f.name: canonical(getattr(value, f.name), f"{path}.{f.name}")
            for f in dataclasses.fields(value)
        }
        return {"type": _qualified(type(value)), "fields": fields}
    if isinstance(value, BaseModel):
        if not value.model_config.get("frozen"):
            raise InvalidKey(f"{path} is a mutable pydantic model; freeze it or pass key=")
        return {"type": _qualified(type(value)), "fields": value.model_dump(mode="json")}
    raise InvalidKey(
        f"{path} of type {type(value).__name__} cannot be part of a stable cache key "
        "(use primitives, tuples, frozen dataclasses or frozen models, or pass key=)"
    )


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class CallKey:
    """Builds the cache key of one call of ``fn``."""

    __slots__ = ("_names", "_prefix", "_signature", "_skip_first", "_template")

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        prefix: str | None = None,
        key: str | Callable[..., str] | None = None,
    ) -> None:
        self._signature = inspect.signature(fn)
        params = list(self._signature.parameters.values())
        self._skip_first = bool(params) and params[0].name in _SKIPPED_FIRST
        self._names = [p.name for p in params[1 if self._skip_first else 0 :]]
        self._prefix = prefix or f"{fn.__module__}.{fn.__qualname__}"
        self._template = key
        if isinstance(key, str):
            try:
                key.format(**dict.fromkeys(self._names, 0))
            except (KeyError, IndexError) as exc:
                raise ConfigurationError(
                    f"key template {key!r} names {exc} which is not a parameter of "
                    f"{fn.__qualname__} (parameters: {', '.join(self._names)})"
                ) from exc

    def key(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self._prefix}(): {exc}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if self._skip_first:
            arguments.pop(next(iter(self._signature.parameters)), None)
        if isinstance(self._template, str):
            return self._template.format(**arguments)
        if self._template is not None:
            return _checked(self._template(**arguments))
        encoded = []
        for name, value in arguments.items():
            kind = self._signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                encoded.append({k: canonical(v, f"{name}[{k!r}]") for k, v in value.items()})
            else:
                encoded.append(canonical(value, f"argument {name!r}"))
        text = _dump(encoded)
        if len(text) > _MAX_READABLE:
            text = "#" + hashlib.sha256(text.encode()).hexdigest()
        return f"{self._prefix}:{text}"


def _checked(result: object) -> str:
    if not isinstance(result, str):
        raise InvalidKey(f"the key function returned a {type(result).__name__}, not str")
    return result
