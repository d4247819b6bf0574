"""Exit codes of the ``cachewright`` command, one meaning each, so scripts can branch.

Usage::

    cachewright get user:1 --json || case $? in 3) echo "cache down";; 4) echo "miss";; esac
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a ``cachewright`` exit status means (also listed in ``docs/cli.md``)."""

    OK = 0
    #: the operation failed: a store error, warm-up failures, dead letters left, a bug
    FAILURE = 1
    #: bad usage or configuration: unknown flag, bad URL, bad ``--store``, bad setting
    USAGE = 2
    #: a server cannot be reached: the cache's Redis, the durable queue or the data store;
    #: ``health``: the cache is not healthy
    UNAVAILABLE = 3
    #: ``get``: the key holds no entry (a miss); ``stats``, ``dead-letters``: no process
    #: has used the write-behind queue named
    NOT_FOUND = 4
    #: interrupted with Ctrl-C
    INTERRUPTED = 130
