"""What ``--store module:factory``, ``--type module:Name`` and ``--keys FILE`` name.

Usage::

    async with open_store("myapp.stores:profile_store") as store:   # a DataStore
        ...
    Profile = import_type("myapp.models:Profile")                  # or "int", "str", "dict"
    import_type("json")                                            # None: plain JSON
    keys = read_keys(Path("hot_users.txt"), int)                   # one key per line

The one resolver of these names for the command line and for ``run_worker``: a store
spec may name a data store or a (sync or async) factory of one, and a type spec is a
builtin's name, ``json`` or ``module:Name``, whichever entry point is used.

Imports resolve from the working directory first, as ``python -m`` would, so
``cachewright warmup --store app.stores:users`` works from the project root. Every
mistake (a missing module, a missing name, a factory returning something that is not
a data store) is a ``ConfigurationError``: exit code 2 with a message, no traceback.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from cachewright.errors import ConfigurationError
from cachewright.stores import DataStore

__all__ = ["import_object", "import_type", "make_store", "open_store", "read_keys"]

_BUILTIN_TYPES = {"int", "str", "float", "bool", "dict", "list"}
#: the type spec meaning "no type: values (or keys) as plain JSON"
_PLAIN_JSON = "json"


def import_object(spec: str, option: str) -> Any:
    """The object ``module:attr`` (``attr`` may be dotted) names."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"{option} must look like 'module:name', got {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise ConfigurationError(
                f"{option}: no module named {missing!r} (searched from {cwd})"
            ) from None
        raise
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(f"{option}: {module_name!r} has no {attr!r}") from None
    return obj


def import_type(spec: object, option: str = "--type") -> Any:
    """A value or key type: ``None`` or ``"json"`` (plain JSON), a builtin's name
    (``"int"``, ``"str"``, ...), ``"module:Name"``, or a type given as is."""
    if not isinstance(spec, str):
        return spec
    if spec == _PLAIN_JSON:
        return None
    if spec in _BUILTIN_TYPES:
        return getattr(builtins, spec)
    if ":" not in spec:
        raise ConfigurationError(
            f"{option} must be json, one of {', '.join(sorted(_BUILTIN_TYPES))} or "
            f"'module:Name', got {spec!r}"
        )
    return import_object(spec, option)


async def make_store(target: object, option: str = "--store") -> DataStore[Any, Any]:
    """The data store ``target`` is or makes: a store, a (sync or async) factory of one,
    or a ``"module:name"`` naming either."""
    shown = target if isinstance(target, str) else repr(target)
    if isinstance(target, str):
        target = import_object(target, option)
    store: Any = target
    # A class is a factory, even though it has the protocol's methods (as functions).
    if isinstance(store, type) or (callable(store) and not isinstance(store, DataStore)):
        store = store()
        if inspect.isawaitable(store):
            store = await store
    if isinstance(store, type) or not isinstance(store, DataStore):
        raise ConfigurationError(
            f"{option} {shown} gave a {type(store).__name__}, not a data store "
            "(get, set, delete, exists, get_many, set_many, delete_many) nor a factory of one"
        )
    return store


@asynccontextmanager
async def open_store(target: object, option: str = "--store") -> AsyncIterator[DataStore[Any, Any]]:
    """:func:`make_store`, closed on exit when it has a ``close()``."""
    store = await make_store(target, option)
    try:
        yield store
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            result = close()
            if inspect.isawaitable(result):
                await result


def read_keys(path: Path, key_type: type[Any]) -> list[Any]:
    """Keys from ``path`` (``-``: stdin), one per line; blank lines and ``#`` comments
    skipped, duplicates dropped, order kept."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"--keys: cannot read {path}: {exc.strerror}") from None
    keys: dict[Any, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys[key_type(line)] = None
        except ValueError:
            raise ConfigurationError(
                f"--keys: line {number} ({line!r}) is not a {key_type.__name__}"
            ) from None
    return list(keys)
