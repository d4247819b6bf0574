"""What a failed store write means for a write-behind flush: down, transient or permanent.

Usage::

    classify_failure(exc)                     # the default: Failure.DOWN, TRANSIENT or PERMANENT
    WriteBehind(cache, store, key="p:{}", type=P, classify=my_classify)
    FlushWorker(queue, store, type=P, classify=my_classify)

    def my_classify(exc: BaseException) -> Failure:
        if isinstance(exc, PaymentDeclined):  # the store's own "no" for this row
            return Failure.PERMANENT
        return classify_failure(exc)          # everything else as by default

What each kind does to a batch:

- ``DOWN``: the store cannot be reached. The batch is retried under the retry policy,
  then handed back to the queue whole for a later round. Never dead-lettered.
- ``TRANSIENT``: the call may pass if tried again (a deadlock, a serialization
  failure, a lock or statement timeout). Retried with backoff; a batch that still
  fails is split in halves to isolate the item, and an item that still fails alone
  after the full policy is dead-lettered.
- ``PERMANENT``: trying again cannot help (a constraint, a value the store refuses or
  cannot encode). No retry: the batch is split at once, the good rows are written
  once, and the failing item goes to the dead letters in the same flush round.

The default walks the error and what it wraps (``__cause__``, SQLAlchemy's ``orig``):
PostgreSQL SQLSTATEs and SQLite result codes decide first, then the error's type;
anything it does not know is ``TRANSIENT`` (retried, then isolated).
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable, Iterator

from cachewright.errors import InvalidKey, SerializationError, StoreUnavailable

__all__ = ["Classify", "Failure", "classify_failure"]


class Failure(enum.Enum):
    """How a failed store write is handled (see the module docstring)."""

    DOWN = "down"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


#: A classifier: the error a store write raised -> what to do about it.
Classify = Callable[[BaseException], Failure]

# PostgreSQL SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_SQLSTATE_CODES = {
    "55P03": Failure.TRANSIENT,  # lock_not_available (lock_timeout, NOWAIT)
    "57014": Failure.TRANSIENT,  # query_canceled (statement_timeout)
}
_SQLSTATE_CLASSES = {
    "40": Failure.TRANSIENT,  # transaction rollback: serialization failure, deadlock
    "08": Failure.DOWN,  # connection exception
    "53": Failure.DOWN,  # insufficient resources (too many connections, disk full)
    "57": Failure.DOWN,  # operator intervention (admin shutdown, cannot connect now)
    "58": Failure.DOWN,  # system error (I/O)
    "22": Failure.PERMANENT,  # data exception (out of range, invalid text representation)
    "23": Failure.PERMANENT,  # integrity constraint violation (check, unique, not null, fk)
}
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CONSTRAINT = 5, 6, 19


def classify_failure(exc: BaseException) -> Failure:
    """The default classification (see the module docstring for the rules)."""
    chain = list(_chain(exc))
    for error in chain:
        verdict = _by_database(error)
        if verdict is not None:
            return verdict
    for error in chain:
        if isinstance(error, StoreUnavailable | ConnectionError | TimeoutError | OSError):
            return Failure.DOWN
        if isinstance(error, SerializationError | InvalidKey | ValueError | TypeError):
            return Failure.PERMANENT  # pydantic's ValidationError is a ValueError
    return Failure.TRANSIENT


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it wraps: SQLAlchemy's ``orig``, then ``__cause__``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # sqlalchemy.exc.DBAPIError (an optional extra)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def _by_database(error: BaseException) -> Failure | None:
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        return _SQLSTATE_CODES.get(sqlstate) or _SQLSTATE_CLASSES.get(sqlstate[:2])
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return Failure.TRANSIENT
        if primary == _SQLITE_CONSTRAINT or isinstance(error, sqlite3.IntegrityError):
            return Failure.PERMANENT
        if isinstance(error, sqlite3.DataError):
            return Failure.PERMANENT
    return None
