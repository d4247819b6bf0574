"""Private parts of the ``cachewright`` command; the entry point is :mod:`cachewright.cli`."""
