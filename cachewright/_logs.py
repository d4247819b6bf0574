"""Log lines that repeat are said once per period, then counted.

Usage::

    throttle = Throttle(logging.getLogger("cachewright.cache"))
    throttle.warning("cache read failed, treated as a miss: %s", exc)
    # the first call logs; the same message again within 60 s is only counted, and the
    # next one logged after the period ends with "(repeated 37 times in the last 60 s)"

A message is told apart from others by its level and format string (not its
arguments), so an outage that fails every read costs one line a minute, whatever
the request rate, and a different problem still gets its own line at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["Throttle"]

#: a traceback to attach: True for the exception being handled, or the exception
ExcInfo = bool | BaseException

#: how many distinct messages one throttle tracks (its call sites, in practice)
_MAX_KEYS = 256


class Throttle:
    """Rate-limits the records of one component: one per message per ``period`` seconds."""

    __slots__ = ("_clock", "_logger", "_period", "_seen")

    def __init__(
        self,
        logger: logging.Logger,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._period = period
        self._clock = clock
        # (level, format) -> [start of the current period, records held back in it]
        self._seen: dict[tuple[int, str], list[float]] = {}

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def log(self, level: int, msg: str, *args: object, exc_info: ExcInfo = False) -> bool:
        """Log now, or count the record if this message was logged within the period.

        Returns whether a record was written.
        """
        if not self._logger.isEnabledFor(level):
            return False
        now = self._clock()
        key = (level, msg)
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self._period:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            msg += " (repeated %d times in the last %.0f s)"
            args = (*args, int(seen[1]), now - seen[0])
        if seen is None and len(self._seen) >= _MAX_KEYS:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = [now, 0]
        self._logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def error(self, msg: str, *args: object, exc_info: ExcInfo = False) -> bool:
        return self.log(logging.ERROR, msg, *args, exc_info=exc_info)

    def warning(self, msg: str, *args: object, exc_info: ExcInfo = False) -> bool:
        return self.log(logging.WARNING, msg, *args, exc_info=exc_info)

    def info(self, msg: str, *args: object) -> bool:
        return self.log(logging.INFO, msg, *args)
