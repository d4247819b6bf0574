"""Cache-aside: ``CacheAside``, the ``@cached`` decorator and warm-up jobs.

Usage::

    from cachewright.patterns.aside import CacheAside, Warmup, cached

    users = CacheAside(cache, load_user, key="user:{}", type=User, ttl=300)
"""

from cachewright.patterns.aside._adaptive import Cached, NotModified, NotModifiedType
from cachewright.patterns.aside.cache_aside import CacheAside, CacheAsideStats
from cachewright.patterns.aside.cached import CachedFunction, cached
from cachewright.patterns.aside.warmup import Warmup, WarmupReport

__all__ = [
    "CacheAside",
    "CacheAsideStats",
    "Cached",
    "CachedFunction",
    "NotModified",
    "NotModifiedType",
    "Warmup",
    "WarmupReport",
    "cached",
]
