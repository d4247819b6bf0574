"""Data stores: the ``DataStore`` protocol and the stores cachewright ships.

Usage::

    from cachewright.stores import DataStore, MemoryStore, SQLStore, store_from_functions

    memory = MemoryStore[int, User]()
    sql = SQLStore("sqlite+aiosqlite:///app.db", "users", type=User, key_type=int)
    await sql.check_item(1, user)     # CheckedStore: what set() would refuse, refused now
    wrapped = store_from_functions(get=repo.get, set=repo.put, delete=repo.remove)

``SQLStore`` needs the ``sql`` extra (``pip install cachewright[sql]``); it is imported
on first access, so the other stores work without SQLAlchemy installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cachewright.errors import ConfigurationError
from cachewright.stores.base import BaseStore, CheckedStore, DataStore
from cachewright.stores.functions import FunctionStore, store_from_functions
from cachewright.stores.memory import MemoryStore

if TYPE_CHECKING:
    from cachewright.stores.sql import SQLStore

__all__ = [
    "BaseStore",
    "CheckedStore",
    "DataStore",
    "FunctionStore",
    "MemoryStore",
    "SQLStore",
    "store_from_functions",
]


def __getattr__(name: str) -> object:
    """Import ``SQLStore`` on first access (PEP 562): SQLAlchemy is an optional extra."""
    if name != "SQLStore":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from cachewright.stores.sql import SQLStore
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "sqlalchemy":
            raise
        raise ConfigurationError("SQLStore needs SQLAlchemy: install cachewright[sql]") from exc
    globals()[name] = SQLStore  # later lookups skip this function
    return SQLStore
