"""The synchronous API: the same patterns and guarantees, for Django, Flask, Celery and scripts.

Usage::

    from cachewright.sync import Cache, CacheAside, WriteThrough, WriteBehind, cached

    cache = Cache.from_url("redis://127.0.0.1:6379/0", namespace="shop")   # or "memory://"
    users = CacheAside(cache, loader=user_repo.get, key="user:{}", type=User, ttl=600)
    user = users.get(42)                     # from any thread; no event loop needed

    orders = WriteThrough(cache, order_repo, key="order:{}", type=Order)
    orders.set(7, order)

    with WriteBehind(cache, profile_repo, key="profile:{}", type=Profile) as profiles:
        profiles.set(1, profile)             # flushed to the repository in batches

    @cached(cache, ttl=60)
    def load_product(product_id: int) -> Product: ...

One engine: every call goes to the async API running on one event loop in a daemon
thread of the process; synchronous loaders and repositories run in worker threads.
Fork-safe (a forked child builds its own loop and connections from the same
configuration) and exit-safe (what was not closed is closed at exit, write-behind
flushed first). See ``docs/guides/sync.md``.
"""

from cachewright.sync._runtime import shutdown
from cachewright.sync.aside import CacheAside
from cachewright.sync.cache import Cache
from cachewright.sync.cached import CachedFunction, cached
from cachewright.sync.stores import BaseStore, DataStore, MemoryStore, RepositoryStore, SQLStore
from cachewright.sync.write_behind import WriteBehind
from cachewright.sync.write_through import WriteThrough

__all__ = [
    "BaseStore",
    "Cache",
    "CacheAside",
    "CachedFunction",
    "DataStore",
    "MemoryStore",
    "RepositoryStore",
    "SQLStore",
    "WriteBehind",
    "WriteThrough",
    "cached",
    "shutdown",
]
