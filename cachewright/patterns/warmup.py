"""``cachewright.patterns.warmup``, as documented before the code moved to ``aside/``."""

from cachewright.patterns.aside.warmup import Warmup, WarmupReport

__all__ = ["Warmup", "WarmupReport"]
