"""What the top package hands the layers below it when ``cachewright`` is imported.

The cache layer, its backends, the local tier and the durable queue are configured by
values passed down to them. A caller who passes none gets :class:`cachewright.Settings`
read from the ``CACHEWRIGHT_*`` variables, as documented; but nothing below the top may
import ``cachewright.settings``. So ``cachewright/__init__.py`` (which Python runs before
any submodule) installs the reader here, and the layers below ask for it::

    install_settings(read)     # the top package, once, at import
    default_settings()         # a lower layer given no settings: what ``read`` returns

This module imports nothing of cachewright: it is the seam, not a way up.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["default_settings", "install_settings"]

_readers: list[Callable[[], object]] = []


def install_settings(read: Callable[[], object]) -> None:
    """Make ``read`` what :func:`default_settings` calls (the last one installed wins)."""
    _readers.append(read)


def default_settings() -> object:
    """The settings a caller gets who passed none (read afresh each call, as before)."""
    if not _readers:
        raise RuntimeError("cachewright's top package installs the settings reader on import")
    return _readers[-1]()
