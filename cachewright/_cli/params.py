"""Options shared by the commands that open a data store: ``warmup``, ``worker``,
``dead-letters``. They describe the pattern the same way the application does.

Usage::

    def worker(store: StoreOpt, key: KeyFormatOpt = "{}", value_type: TypeOpt = None,
               key_type: KeyTypeOpt = "str") -> None: ...
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["KeyFormatOpt", "KeyTypeOpt", "StoreOpt", "TypeOpt"]

StoreOpt = Annotated[
    str,
    typer.Option(
        "--store",
        metavar="MODULE:NAME",
        help="A data store, or a factory of one (a class or function, may be async), "
        "importable from the working directory.",
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
        help="Value type: module:Name (a pydantic model, a dataclass, ...), int, str, "
        "dict, ... Default: plain JSON.",
    ),
]
KeyTypeOpt = Annotated[
    str,
    typer.Option(
        "--key-type",
        help="Domain key type: str, int, json (keys as the JSON says) or module:Name.",
    ),
]
