"""Notes on exceptions that pass through cachewright unchanged.

Usage::

    try:
        value = await loader(key)
    except Exception as exc:
        add_note(exc, f"cachewright: loading key {key!r}")
        raise                                  # the loader's own exception, as it was

A loader's or a store's exception reaches the caller as the same object, with its own
type and traceback (``except UserNotFound:`` keeps working once a cache is added); the
note only says which key cachewright was working on. A note is added once: an exception
object re-raised for several callers, or raised again by a loader that keeps one
instance around, does not collect copies.
"""

from __future__ import annotations

__all__ = ["add_note"]


def add_note(exc: BaseException, note: str) -> None:
    """Add ``note`` to ``exc`` unless it already carries it."""
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)
