"""Options shared by the commands that open a data store: ``warmup``, ``worker``,
``dead-letters``. They describe the pattern the same way the application does.

Usage::

    def worker(store: StoreOpt, key: KeyFormatOpt = "{}", value_type: TypeOpt = None,
               key_type: KeyTypeOpt = "str") -> None: ...
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cachewright.errors import ConfigurationError

__all__ = ["KeyFormatOpt", "KeyTypeOpt", "StoreOpt", "TypeOpt", "parse_key_type"]

StoreOpt = Annotated[
    str,
    typer.Option(
        "--store",
        metavar="MODULE:FACTORY",
        help="A DataStore, or a callable returning one (may be async), importable from "
        "the working directory.",
    ),
]
KeyFormatOpt = Annotated[
    str,
    typer.Option("--key", help="Cache key format with one {} field, as in the application."),
]
TypeOpt = Annotated[
    str | None,
    typer.Option(
        "--type",
        metavar="MODULE:NAME",
        help="Value type (a pydantic model, dataclass, int, str, dict, ...); default: plain JSON.",
    ),
]
KeyTypeOpt = Annotated[
    str,
    typer.Option("--key-type", help="Domain key type: str or int (json: as the JSON says)."),
]

_KEY_TYPES: dict[str, type[Any] | None] = {"str": str, "int": int, "json": None}


def parse_key_type(name: str) -> type[Any] | None:
    """``--key-type`` as a Python type; ``json`` is None (keys decoded as JSON values)."""
    try:
        return _KEY_TYPES[name]
    except KeyError:
        raise ConfigurationError(f"--key-type must be str, int or json, not {name!r}") from None
