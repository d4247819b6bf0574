"""The sync Cache's direct reads in one process: a reader per thread, closed together.

Usage (what ``cachewright.sync.Cache`` does)::

    direct = Direct(rt, DirectReads.of(engine))   # per runtime (a forked child: a new one)
    reader = direct.reader()                      # this thread's, made on first use; or None
    direct.close()                                # every thread's connection

Why a ``Cache.get`` served this way is the engine's own: see
:mod:`cachewright.cache._direct`. Each thread gets its own connection (made on its
first read, connected then) and its own counters' shard, so no lock is taken on a
read. A thread's reader goes when the thread ends: its connection is closed and its
shard (whose counts stay in the totals) is handed to the next thread's reader. A
forked child never sees its parent's ``Direct`` (the runtime differs: it builds its
own), and redis-py's connection never shuts a socket down in another process than
the one that opened it.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from cachewright.cache._direct import DirectReads, ThreadReader
from cachewright.sync._runtime import Runtime, inherit, runtime

if TYPE_CHECKING:
    from cachewright import Cache as AsyncCache

__all__ = ["Direct", "started"]


class Direct:
    """Direct reads of one sync Cache in one runtime (None inside: not offered)."""

    __slots__ = ("_closed", "_local", "_lock", "_readers", "pid", "reads", "runtime")

    def __init__(self, runtime: Runtime, reads: DirectReads | None) -> None:
        self.runtime = runtime
        self.pid = os.getpid()
        self.reads = reads
        self._local = threading.local()
        self._lock = threading.Lock()
        self._readers: weakref.WeakSet[ThreadReader] = weakref.WeakSet()
        self._closed = False

    def reader(self) -> ThreadReader | None:
        """This thread's reader, made on first use; None when direct reads are off."""
        try:
            reader: ThreadReader | None = self._local.reader
        except AttributeError:
            reader = self._new()
        return reader

    def _new(self) -> ThreadReader | None:
        reader = None
        with self._lock:
            if self.reads is not None and not self._closed:
                reader = self.reads.reader()
                if reader is not None:
                    self._readers.add(reader)
        self._local.reader = reader
        return reader

    def close(self) -> None:
        """Close every thread's connection; later reads go through the engine."""
        with self._lock:
            self._closed = True
            readers = list(self._readers)
            self._readers.clear()
        for reader in readers:
            reader.close()


_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)


def started(
    current: Callable[[], Direct | None],
    keep: Callable[[Direct], None],
    engine: Callable[[], AsyncCache],
) -> Direct:
    """The ``Direct`` of this runtime: ``current()`` if it is this runtime's, else a
    new one for ``engine()`` (the async cache of this runtime), handed to ``keep``
    (both under one lock, so that threads starting together share one). A ``Direct``
    left by a stopped runtime of this process is closed; one inherited from a parent
    process is kept referenced and never touched."""
    with _lock:
        rt = runtime()
        direct = current()
        if direct is not None and direct.runtime is rt:
            return direct
        if direct is not None:
            if direct.pid == os.getpid():
                direct.close()
            else:
                inherit(direct)
        made = Direct(rt, DirectReads.of(engine()))
        keep(made)
        return made
