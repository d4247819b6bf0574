"""``cachewright.patterns.cached``, as documented before the code moved to ``aside/``."""

from cachewright.patterns.aside.cached import CachedFunction, cached

__all__ = ["CachedFunction", "cached"]
