"""``cachewright.patterns.cache_aside``, as documented before the code moved to ``aside/``."""

from cachewright.patterns.aside.cache_aside import CacheAside, CacheAsideStats

__all__ = ["CacheAside", "CacheAsideStats"]
