"""Data stores for the synchronous API.

Usage::

    from cachewright.sync.stores import BaseStore, MemoryStore, RepositoryStore, SQLStore

    memory = MemoryStore[int, User]()
    sql = SQLStore("sqlite+aiosqlite:///app.db", "users", type=User, key_type=int)

    class UserRepository(BaseStore[int, User]):    # your own, on any sync driver
        def get(self, key: int) -> User | None: ...
        def set(self, key: int, value: User) -> None: ...
        def delete(self, key: int) -> None: ...

The sync patterns accept all of these; a plain repository's methods run in worker
threads so the engine's loop never waits on them.
"""

from cachewright.sync.stores.base import BaseStore, DataStore
from cachewright.sync.stores.memory import MemoryStore
from cachewright.sync.stores.repository import RepositoryStore
from cachewright.sync.stores.sql import SQLStore

__all__ = ["BaseStore", "DataStore", "MemoryStore", "RepositoryStore", "SQLStore"]
