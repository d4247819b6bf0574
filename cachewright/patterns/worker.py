"""``cachewright.patterns.worker``, as documented before the code moved.

``FlushWorker`` lives in :mod:`cachewright.patterns.write_behind.worker`. ``run_worker``
is process plumbing, defined once in the CLI layer
(:mod:`cachewright._cli.worker_process`) and re-exported by the top package
(``cachewright.run_worker``); this documented path names that same function, fetched
from the top package on first use, so no pattern module imports the CLI layer and
importing the patterns never loads it.
"""

from __future__ import annotations

import importlib
from typing import Any

from cachewright.patterns.write_behind import FlushWorker, WorkerStats

__all__ = ["FlushWorker", "WorkerStats", "run_worker"]  # noqa: F822 (run_worker: __getattr__)


def __getattr__(name: str) -> Any:  # Any: run_worker's signature is the CLI layer's
    if name == "run_worker":
        # The top package's public name, looked up when first used (by name, so that
        # type checkers do not fold the top package and the patterns into one cycle).
        return getattr(importlib.import_module("cachewright"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
